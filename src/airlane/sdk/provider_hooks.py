"""Which hook class serves a connection type: the hook point behind ``Connection.get_hook``.

Airflow asks ``ProvidersManager().hooks[conn_type]``. Airlane's default lookup reads the
``connection-types`` of the installed providers' ``apache_airflow_provider`` entry points
(``get_provider_info()``); a fuller registry (the providers manager) replaces it with
:func:`set_hook_lookup`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

log = logging.getLogger(__name__)

PROVIDER_ENTRY_POINT_GROUP = "apache_airflow_provider"


@dataclass(frozen=True)
class HookInfo:
    """Airflow's ``HookInfo``: a connection type's hook class and its conn-id argument."""

    hook_class_name: str
    connection_id_attribute_name: str
    package_name: str
    hook_name: str
    connection_type: str


HookLookup = Callable[[str], "HookInfo | None"]


def _provider_infos() -> list[dict[str, Any]]:
    infos: list[dict[str, Any]] = []
    for entry in entry_points(group=PROVIDER_ENTRY_POINT_GROUP):
        try:
            info = entry.load()()
        except Exception as error:  # a broken provider must not hide the others
            log.warning("Provider entry point %s failed: %s", entry.value, error)
            continue
        if isinstance(info, dict):
            infos.append(info)
    return infos


def import_string(dotted_path: str) -> Any:
    """The attribute a ``module.name`` path names (Airflow's ``import_string``)."""
    module_name, _, attribute = dotted_path.rpartition(".")
    if not module_name:
        raise ImportError(f"{dotted_path} doesn't look like a module path")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f'Module "{module_name}" does not define "{attribute}"') from None


def entry_point_hook_lookup(conn_type: str) -> HookInfo | None:
    """The hook of ``conn_type`` declared by an installed provider package, if any."""
    for info in _provider_infos():
        for declared in info.get("connection-types") or []:
            if declared.get("connection-type") != conn_type:
                continue
            class_name = str(declared["hook-class-name"])
            hook_class = import_string(class_name)
            return HookInfo(
                hook_class_name=class_name,
                connection_id_attribute_name=str(getattr(hook_class, "conn_name_attr", "conn_id")),
                package_name=str(info.get("package-name", "")),
                hook_name=str(getattr(hook_class, "hook_name", conn_type)),
                connection_type=conn_type,
            )
    return None


_lookup: list[HookLookup] = [entry_point_hook_lookup]


def set_hook_lookup(lookup: HookLookup) -> None:
    """Make ``lookup`` the source of hooks for ``Connection.get_hook``."""
    _lookup[0] = lookup


def find_hook(conn_type: str) -> HookInfo | None:
    return _lookup[0](conn_type)
