"""Airlane's effective settings in Airflow's sections and options, for ``/api/v2/config``.

An Airlane setting whose meaning is an Airflow option's is shown under that option (``[core]
dags_folder``, ``[core] dagbag_import_timeout``, ``[scheduler] create_cron_data_intervals``,
``[api_auth] jwt_cli_expiration_time``...); every setting is also in the ``[airlane]`` section
under its own name. The API redacts the sensitive ones (:mod:`airlane.api.config`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from airlane.api.app import ApiSettings
from airlane.api.auth import AuthConfig
from airlane.api.config import ConfigSection, ConfigView, Exposure
from airlane.config import Settings

FERNET_ENV = ("AIRLANE_FERNET_KEY", "AIRFLOW__CORE__FERNET_KEY")


def _text(value: object) -> str:
    """As Airflow's configuration prints values: booleans ``True``/``False``, numbers plain."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _airflow_sections(
    settings: Settings, api: ApiSettings, auth: AuthConfig, env: Mapping[str, str]
) -> list[ConfigSection]:
    fernet = next((env[name] for name in FERNET_ENV if env.get(name)), "")
    sections: dict[str, dict[str, object]] = {
        "core": {
            "dags_folder": settings.dags_folder,
            "dagbag_import_timeout": settings.dag_import_timeout_s,
            "dag_ignore_file_syntax": settings.dag_ignore_file_syntax,
            "dag_discovery_safe_mode": settings.dag_discovery_safe_mode,
            "dags_are_paused_at_creation": settings.dags_are_paused_at_creation,
            "max_xcom_size": settings.xcom_max_bytes,
            "fernet_key": fernet,
        },
        "scheduler": {
            "create_cron_data_intervals": settings.create_cron_data_intervals,
            "scheduler_health_check_threshold": 30,
        },
        "api": {
            "host": api.host,
            "port": api.port,
            "expose_config": api.config_view.exposure.value,
        },
        "api_auth": {
            "jwt_expiration_time": auth.token_ttl_s,
            "jwt_cli_expiration_time": auth.cli_token_ttl_s,
            "jwt_secret": auth.secret,
        },
    }
    return [
        ConfigSection(name, tuple((k, _text(v)) for k, v in options.items()))
        for name, options in sections.items()
    ]


def _airlane_section(settings: Settings, api: ApiSettings) -> ConfigSection:
    options = [(f.name, _text(getattr(settings, f.name))) for f in dataclasses.fields(settings)]
    options += [
        ("api_max_body_bytes", _text(api.max_body_bytes)),
        ("api_idle_timeout_s", _text(api.idle_timeout_s)),
    ]
    return ConfigSection("airlane", tuple(options))


def config_view(
    settings: Settings, api: ApiSettings, auth: AuthConfig, env: Mapping[str, str]
) -> ConfigView:
    """What ``/api/v2/config`` shows for an API started with these settings."""
    exposure = Exposure.from_env(env)
    api = dataclasses.replace(api, config_view=ConfigView(exposure))
    sections = [*_airflow_sections(settings, api, auth, env), _airlane_section(settings, api)]
    return ConfigView(exposure, tuple(sections))
