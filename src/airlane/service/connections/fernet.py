"""Encryption of connection secrets at rest, with Airflow's Fernet scheme.

The key is ``AIRLANE_FERNET_KEY`` (or Airflow's ``AIRFLOW__CORE__FERNET_KEY``); several keys
separated by commas decrypt with any of them and encrypt with the first (key rotation, as
Airflow's ``MultiFernet``). Without a key, as in Airflow, values are stored in plain text
(``is_encrypted`` false) and a warning is logged once: a development setup works out of the
box, and a production one sets the key. A value stored encrypted cannot be read without it.
Generate a key with ``python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from airlane.sdk.exceptions import AirflowException

log = logging.getLogger(__name__)

KEY_ENV = ("AIRLANE_FERNET_KEY", "AIRFLOW__CORE__FERNET_KEY")


class FernetKeyMissing(AirflowException):
    """A value was stored encrypted and no key (or not the right one) is configured."""


@dataclass(frozen=True)
class Cipher:
    """Encrypts with the configured key, or passes text through when there is none."""

    fernet: MultiFernet | None

    @property
    def is_encrypted(self) -> bool:
        return self.fernet is not None

    def encrypt(self, text: str) -> str:
        if self.fernet is None:
            return text
        return self.fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        if self.fernet is None:
            raise FernetKeyMissing(
                "A connection secret is stored encrypted and AIRLANE_FERNET_KEY is not set"
            )
        try:
            return self.fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise FernetKeyMissing(
                "A connection secret cannot be decrypted with AIRLANE_FERNET_KEY (wrong key?)"
            ) from None


def configured_key() -> str:
    for name in KEY_ENV:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return ""


@cache
def _cipher_for(key: str) -> Cipher:
    if not key:
        log.warning(
            "AIRLANE_FERNET_KEY is empty: connection passwords and extras are stored unencrypted"
        )
        return Cipher(None)
    try:
        keys = [Fernet(part.strip().encode()) for part in key.split(",") if part.strip()]
    except ValueError as error:
        raise AirflowException(f"AIRLANE_FERNET_KEY is not a valid Fernet key: {error}") from None
    return Cipher(MultiFernet(keys))


def current_cipher() -> Cipher:
    """The cipher of the key configured now (one instance per key)."""
    return _cipher_for(configured_key())
