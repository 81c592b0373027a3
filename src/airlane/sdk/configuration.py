"""``airflow.configuration.conf`` for DAG files that read a setting at parse time.

Airlane has no ``airflow.cfg``: a value comes from the environment variable Airflow reads first
(``AIRFLOW__{SECTION}__{KEY}``), else from the caller's ``fallback``, else from the few defaults
below, which are Airflow's own (its ``provider_config_fallback_defaults.cfg`` gives the
kubernetes executor's keys an empty value when the provider is not installed, which lets its
example DAG files load and define no DAG). Any other key is an AirflowConfigException, as in
Airflow for a key it does not know.
"""

from __future__ import annotations

import os
from typing import Any

from airlane.sdk.exceptions import AirflowConfigException

_NOTSET: Any = object()

#: (section, key) -> Airflow's default.
DEFAULTS: dict[tuple[str, str], str] = {
    ("kubernetes_executor", "worker_container_repository"): "",
    ("kubernetes_executor", "worker_container_tag"): "",
    ("core", "load_examples"): "False",
    ("core", "unit_test_mode"): "False",
}

_TRUE = frozenset({"t", "true", "1", "yes", "on"})
_FALSE = frozenset({"f", "false", "0", "no", "off"})


class AirflowConfigParser:
    """The read side of Airflow's config: ``get``, ``getboolean``, ``getint``, ``getfloat``,
    ``has_option``."""

    def _lookup(self, section: str, key: str) -> str | None:
        env = f"AIRFLOW__{section.upper()}__{key.upper()}"
        if env in os.environ:
            return os.environ[env]
        return DEFAULTS.get((section.lower(), key.lower()))

    def get(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        value = self._lookup(section, key)
        if value is not None:
            return value
        if fallback is not _NOTSET:
            return fallback
        raise AirflowConfigException(f"section/key [{section}/{key}] not found in config")

    def has_option(self, section: str, key: str) -> bool:
        return self._lookup(section, key) is not None

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
        value = self.get(section, key, fallback=fallback)
        return int(value) if isinstance(value, str) else value

    def getfloat(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        value = self.get(section, key, fallback=fallback)
        return float(value) if isinstance(value, str) else value


conf = AirflowConfigParser()

__all__ = ["AirflowConfigParser", "conf"]
