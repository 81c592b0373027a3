"""A deferred try's trigger kwargs at rest: Fernet-encrypted when a key is configured, as
Airflow 3 stores ``Trigger.encrypted_kwargs`` (models/trigger.py: ``get_fernet().encrypt`` of
the serialized kwargs). Kwargs often carry what a hook needs (a token, a URL with a password);
they sit in Redis while the trigger waits (the ``triggers`` hash) and travel in the worker's
completion.

The key is the connection store's (``AIRLANE_FERNET_KEY`` / ``AIRFLOW__CORE__FERNET_KEY``,
service/connections/fernet.py). Without one, kwargs stay plain JSON, as in Airflow. Plain
kwargs are a JSON object (they start with ``{``), a Fernet token never does: reading tells them
apart, as Airflow's ``_decrypt_kwargs`` does.
"""

from __future__ import annotations

from airlane.sdk.exceptions import AirflowException
from airlane.service.connections.fernet import FernetKeyMissing, configured_key, current_cipher


class TriggerKwargsUnreadable(AirflowException):
    """The kwargs were stored encrypted and this process has no key (or not the right one)."""


def seal(kwargs_json: str) -> str:
    """``kwargs_json`` as stored: encrypted when a key is configured."""
    if not configured_key():  # no cipher: its "stored unencrypted" warning is about connections
        return kwargs_json
    return current_cipher().encrypt(kwargs_json)


def unseal(stored: str) -> str:
    """The kwargs JSON of what :func:`seal` stored."""
    if stored.lstrip().startswith("{"):
        return stored
    if not configured_key():
        raise TriggerKwargsUnreadable(
            "The trigger's kwargs are stored encrypted and AIRLANE_FERNET_KEY is not set here"
        )
    try:
        return current_cipher().decrypt(stored)
    except FernetKeyMissing:
        raise TriggerKwargsUnreadable(
            "The trigger's kwargs cannot be decrypted with AIRLANE_FERNET_KEY (wrong key?)"
        ) from None
