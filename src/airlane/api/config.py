"""``/api/v2/config`` and ``/api/v2/config/section/{section}/option/{option}``: Airlane's
effective settings in Airflow's sections and options (Airflow's ``Config`` shape).

The API process is given them (:class:`ConfigView`, built by the CLI from its settings:
:mod:`airlane.cli.config_view`). As Airflow's ``[api] expose_config``, they are hidden unless
``AIRLANE_API_EXPOSE_CONFIG`` (or ``AIRFLOW__API__EXPOSE_CONFIG``) is ``true`` or
``non-sensitive-only``: a 403 with Airflow's message otherwise. Unlike Airflow's ``true``,
which shows secrets, a sensitive value is always ``< hidden >`` here: the options Airflow
marks sensitive, and any whose name says it holds a secret, a password, a key or a token.
``Accept: text/plain`` gets Airflow's text form (``[section]`` then ``key = value`` lines).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from airlane.api.errors import ApiError, json_response

HIDDEN = "< hidden >"
EXPOSE_ENV = ("AIRLANE_API_EXPOSE_CONFIG", "AIRFLOW__API__EXPOSE_CONFIG")
NOT_EXPOSED = (
    "Your Airflow administrator chose not to expose the configuration, most likely for "
    "security reasons."
)
#: Airflow's sensitive options (its config's ``sensitive: true``) among those Airlane maps
SENSITIVE: frozenset[tuple[str, str]] = frozenset(
    {
        ("core", "fernet_key"),
        ("database", "sql_alchemy_conn"),
        ("api", "secret_key"),
        ("api_auth", "jwt_secret"),
        ("celery", "broker_url"),
        ("celery", "result_backend"),
        ("airlane", "redis_url"),
        ("airlane", "api_users"),
    }
)
_SECRET_NAME = re.compile(r"secret|passw|fernet|(^|_)tokens?$|(^|_)keys?$|(^|_)users$")


class Exposure(enum.StrEnum):
    HIDDEN = "false"
    ALL = "true"
    NON_SENSITIVE_ONLY = "non-sensitive-only"

    @classmethod
    def parse(cls, raw: str) -> Exposure:
        lowered = raw.strip().lower()
        if lowered in {"true", "1", "yes", "on"}:
            return cls.ALL
        if lowered in {"false", "0", "no", "off", ""}:
            return cls.HIDDEN
        if lowered == cls.NON_SENSITIVE_ONLY:
            return cls.NON_SENSITIVE_ONLY
        raise ValueError(f"expose_config {raw!r}: expected true, false or non-sensitive-only")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Exposure:
        raw = next((env[name] for name in EXPOSE_ENV if env.get(name)), "false")
        return cls.parse(raw)


@dataclass(frozen=True, slots=True)
class ConfigSection:
    name: str
    #: (option, value) in the order they are shown
    options: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ConfigView:
    exposure: Exposure = Exposure.HIDDEN
    sections: tuple[ConfigSection, ...] = field(default=())

    def section(self, name: str) -> ConfigSection | None:
        return next((s for s in self.sections if s.name == name), None)


CONFIG_VIEW = web.AppKey("config_view", ConfigView)


def is_sensitive(section: str, option: str) -> bool:
    return (section.lower(), option.lower()) in SENSITIVE or bool(
        _SECRET_NAME.search(option.lower())
    )


def shown(section: str, option: str, value: str) -> str:
    return HIDDEN if is_sensitive(section, option) else value


def _wants_text(request: web.Request) -> bool:
    """Airflow's choice by ``Accept``: JSON for ``*/*`` or JSON, text for text/plain, else 406."""
    accept = request.headers.get("Accept", "*/*")
    if accept.startswith("*/*") or accept.startswith("application/json"):
        return False
    if accept.startswith("text/plain"):
        return True
    raise ApiError(406, "Only application/json or text/plain is supported")


def _answer(text_wanted: bool, sections: list[ConfigSection]) -> web.Response:
    if text_wanted:
        text = "\n".join(
            f"[{s.name}]\n" + "\n".join(f"{k} = {v}" for k, v in s.options) + "\n" for s in sections
        )
        return web.Response(text=text, content_type="text/plain")
    return json_response(
        {
            "sections": [
                {"name": s.name, "options": [{"key": k, "value": v} for k, v in s.options]}
                for s in sections
            ]
        }
    )


def _view(request: web.Request) -> ConfigView:
    view = request.app[CONFIG_VIEW]
    if view.exposure is Exposure.HIDDEN:
        raise ApiError(403, NOT_EXPOSED)
    return view


def _redacted(section: ConfigSection) -> ConfigSection:
    options = tuple((k, shown(section.name, k, v)) for k, v in section.options)
    return ConfigSection(section.name, options)


async def get_config(request: web.Request) -> web.Response:
    text_wanted = _wants_text(request)  # Airflow checks the header first: a 406 before a 403
    view = _view(request)
    wanted = request.query.get("section")
    sections = list(view.sections)
    if wanted:
        found = view.section(wanted)
        if found is None:
            raise ApiError(404, f"Section {wanted} not found.")
        sections = [found]
    return _answer(text_wanted, [_redacted(s) for s in sections])


async def get_config_value(request: web.Request) -> web.Response:
    text_wanted = _wants_text(request)
    view = _view(request)
    name, option = request.match_info["section"], request.match_info["option"]
    found = view.section(name)
    value = dict(found.options).get(option) if found else None
    if value is None:
        raise ApiError(404, f"Option [{name}/{option}] not found.")
    return _answer(text_wanted, [ConfigSection(name, ((option, shown(name, option, value)),))])


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/config", get_config)
    app.router.add_get("/api/v2/config/section/{section}/option/{option}", get_config_value)
