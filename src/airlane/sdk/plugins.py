"""``AirflowPlugin`` (``airflow.plugins_manager``): what a file of the plugins folder defines.

Airlane reads two attributes of a plugin: ``timetables``, the custom timetable classes the
scheduler may re-create from a serialized DAG, and ``priority_weight_strategies``, the
classes a task's ``weight_rule`` may name (``sdk/priority_strategy.py``). The other attributes
Airflow knows (macros, operators' extra links, views, listeners...) are refused when set, so
that a plugin that relies on them fails loudly instead of being half-loaded.
"""

from __future__ import annotations

from typing import Any, ClassVar

#: AirflowPlugin attributes Airlane does not act on: a plugin that fills one is refused
UNSUPPORTED = (
    "operators",
    "sensors",
    "hooks",
    "executors",
    "macros",
    "admin_views",
    "flask_blueprints",
    "fastapi_apps",
    "fastapi_root_middlewares",
    "external_views",
    "react_apps",
    "menu_links",
    "appbuilder_views",
    "appbuilder_menu_items",
    "global_operator_extra_links",
    "operator_extra_links",
    "listeners",
)


class AirflowPluginException(Exception):
    """A plugin that cannot be used."""


class AirflowPlugin:
    """Subclass it in a ``.py`` file of the plugins folder; list timetables in ``timetables``
    and priority weight strategies in ``priority_weight_strategies``."""

    name: ClassVar[str | None] = None
    timetables: ClassVar[list[type[Any]]] = []
    priority_weight_strategies: ClassVar[list[type[Any]]] = []
    source: Any = None

    @classmethod
    def validate(cls) -> None:
        if not cls.name:
            raise AirflowPluginException("Your plugin needs a name.")
        for attribute in UNSUPPORTED:
            if getattr(cls, attribute, None):
                raise AirflowPluginException(
                    f"plugin {cls.name!r}: {attribute} is not supported by Airlane "
                    "(only timetables and priority_weight_strategies are)"
                )

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        """Called when the plugin is loaded (Airflow's hook; does nothing by default)."""
