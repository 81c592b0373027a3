"""``airflow.configuration.conf`` (and ``airflow.sdk.configuration.conf``): Airflow's settings as
DAG files and provider packages read them.

Airlane has no ``airflow.cfg``: a value comes from the environment variable Airflow reads first
(``AIRFLOW__{SECTION}__{KEY}``), else from Airlane's own setting that stands for it (its
``AIRLANE_*`` variable, see ``AIRLANE_SETTINGS``), else from the defaults below, which are
Airflow's own for the keys that DAG files and the providers Airlane runs read, else from the
config sections installed providers declare, else from the caller's ``fallback`` (as in Airflow,
a default wins over the fallback). The kubernetes executor's keys are empty, as Airflow's
``provider_config_fallback_defaults.cfg`` leaves them when that provider is not installed, which
lets its example DAG files load and define no DAG. Any other key is an AirflowConfigException,
as in Airflow for a key it does not know.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from typing import Any

from airlane.sdk.exceptions import AirflowConfigException

_NOTSET: Any = object()

#: (section, key) -> Airflow's default (Airflow 3.1's config.yml), for keys read by DAG files
#: and by the common-sql, postgres, sqlite, http, smtp and slack providers.
DEFAULTS: dict[tuple[str, str], str] = {
    ("kubernetes_executor", "worker_container_repository"): "",
    ("kubernetes_executor", "worker_container_tag"): "",
    # Airlane loads no example DAGs (Airflow's default is True)
    ("core", "load_examples"): "False",
    ("core", "unit_test_mode"): "False",
    ("core", "default_timezone"): "utc",
    ("core", "max_templated_field_length"): "4096",
    ("core", "default_task_retries"): "0",
    ("core", "dag_discovery_safe_mode"): "True",
    ("core", "allowed_deserialization_classes"): "airflow.*",
    ("core", "allowed_deserialization_classes_regexp"): "",
    ("core", "fernet_key"): "",
    # Airflow 3.3's state stores (sdk/state_store.py)
    ("state_store", "default_retention_days"): "30",
    ("state_store", "clear_on_success"): "False",
    ("state_store", "max_value_storage_bytes"): "65535",
    ("core", "test_connection"): "Disabled",
    ("logging", "logging_level"): "INFO",
    ("operators", "default_deferrable"): "false",
    ("operators", "default_owner"): "airflow",
    ("sensors", "default_timeout"): "604800",
    ("email", "email_backend"): "airflow.utils.email.send_email_smtp",
    ("email", "email_conn_id"): "smtp_default",
    ("email", "ssl_context"): "default",
    ("smtp", "smtp_host"): "localhost",
    ("smtp", "smtp_starttls"): "True",
    ("smtp", "smtp_ssl"): "False",
    ("smtp", "smtp_port"): "25",
    ("smtp", "smtp_mail_from"): "airflow@example.com",
    ("smtp", "smtp_timeout"): "30",
    ("smtp", "smtp_retry_limit"): "5",
}

#: (section, key) -> the Airlane setting that stands for it (read when AIRFLOW__... is unset)
AIRLANE_SETTINGS: dict[tuple[str, str], str] = {
    ("core", "dags_folder"): "AIRLANE_DAGS_FOLDER",
    ("core", "fernet_key"): "AIRLANE_FERNET_KEY",
    ("core", "dag_discovery_safe_mode"): "AIRLANE_DAG_DISCOVERY_SAFE_MODE",
    ("core", "dags_are_paused_at_creation"): "AIRLANE_DAGS_ARE_PAUSED_AT_CREATION",
}

_TRUE = frozenset({"t", "true", "1", "yes", "on"})
_FALSE = frozenset({"f", "false", "0", "no", "off"})


def _env_name(section: str, key: str) -> str:
    # (a section's dots are underscores: [common.io] reads AIRFLOW__COMMON_IO__..., as in Airflow)
    return f"AIRFLOW__{section.replace('.', '_').upper()}__{key.upper()}"


class AirflowConfigParser:
    """The read side of Airflow's config: ``get``, ``getboolean``, ``getint``, ``getfloat``,
    ``getjson``, ``getimport``, ``getsection``, ``has_option``, ``get_mandatory_value``."""

    def _lookup(self, section: str, key: str) -> str | None:
        env = _env_name(section, key)
        if env in os.environ:
            return os.environ[env]
        setting = AIRLANE_SETTINGS.get((section.lower(), key.lower()))
        if setting is not None and setting in os.environ:
            return os.environ[setting]
        found = DEFAULTS.get((section.lower(), key.lower()))
        if found is None:
            found = _provider_defaults().get((section.lower(), key.lower()))
        return found

    def get(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        value = self._lookup(section, key)
        if value is not None:
            return value
        if fallback is not _NOTSET:
            return fallback
        raise AirflowConfigException(f"section/key [{section}/{key}] not found in config")

    def has_option(self, section: str, key: str, **_: Any) -> bool:
        return self._lookup(section, key) is not None

    def has_section(self, section: str) -> bool:
        return self.getsection(section) is not None

    def get_mandatory_value(self, section: str, key: str, **kwargs: Any) -> str:
        value = self.get(section, key, fallback=None, **kwargs)
        if value is None:
            raise ValueError(f"The value {section}/{key} should be set!")
        return str(value)

    def getboolean(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        value = self.get(section, key, fallback=fallback)
        if not isinstance(value, str):
            return value
        word = value.strip().lower().split("#")[0].strip()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise AirflowConfigException(
            f'Failed to convert value to bool. Please check "{key}" key in "{section}" section. '
            f'Current value: "{value}".'
        )

    def getint(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        return self._convert(int, "int", section, key, fallback)

    def getfloat(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        return self._convert(float, "float", section, key, fallback)

    def _convert(self, kind: type, name: str, section: str, key: str, fallback: Any) -> Any:
        value = self.get(section, key, fallback=fallback)
        if not isinstance(value, str):
            return value
        try:
            return kind(value)
        except ValueError:
            raise AirflowConfigException(
                f'Failed to convert value to {name}. Please check "{key}" key in "{section}" '
                f'section. Current value: "{value}".'
            ) from None

    def getjson(self, section: str, key: str, fallback: Any = None, **_: Any) -> Any:
        """The value parsed as JSON; ``fallback`` (not parsed) when the key is unset or empty."""
        data = self.get(section, key, fallback=None)
        if data is None or data == "":
            return fallback
        try:
            return json.loads(data)
        except json.JSONDecodeError as err:
            raise AirflowConfigException(
                f"Unable to parse [{section}] {key!r} as valid json"
            ) from err

    def getimport(self, section: str, key: str, **kwargs: Any) -> Any:
        """The object named by the value's dotted path (None when the value is empty)."""
        path = self.get(section, key, **kwargs)
        if not path:
            return None
        module_name, _, attribute = str(path).rpartition(".")
        try:
            return getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as err:
            raise AirflowConfigException(
                f'The object could not be loaded. Please check "{key}" key in "{section}" '
                f'section. Current value: "{path}".'
            ) from err

    def getsection(self, section: str) -> dict[str, Any] | None:
        """The section's keys (Airflow's and the providers' defaults, then the environment) with
        values converted to int, float or bool where they read as one; None for a section with
        no defaults."""
        lowered = section.lower()
        defaults = {**_provider_defaults(), **DEFAULTS}
        found: dict[str, Any] = {k: v for (s, k), v in defaults.items() if s == lowered}
        if not found:
            return None
        prefix = _env_name(section, "")
        for name in sorted(os.environ):
            if name.startswith(prefix):
                found[name[len(prefix) :].lower()] = os.environ[name]
        return {key: _auto_convert(value) for key, value in found.items()}


@functools.cache
def _provider_defaults() -> dict[tuple[str, str], str]:
    """The defaults of the config sections installed providers declare (their provider info's
    ``config``), as Airflow loads them (read once, on the first key no other source has)."""
    from airlane.sdk.providers_manager import ProvidersManager

    found: dict[tuple[str, str], str] = {}
    for _package, config in ProvidersManager().provider_configs:
        for section, body in config.items():
            for key, option in (body.get("options") or {}).items():
                if option.get("default") is not None:
                    found[(section.lower(), key.lower())] = str(option["default"])
    return found


def _auto_convert(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    if value.lower() in ("t", "true"):
        return True
    if value.lower() in ("f", "false"):
        return False
    return value


conf = AirflowConfigParser()

__all__ = ["AirflowConfigParser", "conf"]
