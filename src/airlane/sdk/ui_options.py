"""A DAG's UI options from Airflow 2 (``default_view``, ``orientation``) and its
``access_control``, checked as Airflow does.

Airflow 3 dropped ``default_view`` and ``orientation`` (its DAG refuses them); Airflow 2 files
still pass them, so Airlane accepts Airflow 2's values, refuses others as Airflow 2 does, and
keeps them in the serialized DAG: the API's DAG details show them and the web UI opens a DAG
on its default view when that is one it has (grid or graph). ``access_control`` maps roles to
permissions; Airflow 3 keeps it with a deprecation warning and only its FAB auth manager reads
it. Airlane's roles follow Airflow's simple auth manager, which does not read it either: it is
kept (API details) and a warning says that it grants and restricts nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping
from typing import Any

from airlane.sdk.exceptions import AirflowException

DEFAULT_VIEW_PRESETS = ("grid", "graph", "duration", "gantt", "landing_times")
ORIENTATION_PRESETS = ("LR", "TB", "RL", "BT")
DEFAULT_VIEW = "grid"  # Airflow 2's [webserver] dag_default_view
DEFAULT_ORIENTATION = "LR"  # Airflow 2's [webserver] dag_orientation


def check_default_view(default_view: str | None) -> str:
    if default_view is None:
        return DEFAULT_VIEW
    if default_view == "tree":
        warnings.warn(
            "`default_view` of 'tree' has been renamed to 'grid' -- please update your DAG",
            DeprecationWarning,
            stacklevel=3,
        )
        return "grid"
    if default_view not in DEFAULT_VIEW_PRESETS:
        raise AirflowException(
            f"Invalid values of dag.default_view: only support {list(DEFAULT_VIEW_PRESETS)}, "
            f"but get {default_view}"
        )
    return default_view


def check_orientation(orientation: str) -> str:
    if orientation not in ORIENTATION_PRESETS:
        raise AirflowException(
            f"Invalid values of dag.orientation: only support {list(ORIENTATION_PRESETS)}, "
            f"but get {orientation}"
        )
    return orientation


def check_access_control(
    access_control: Mapping[str, Any] | None,
) -> dict[str, dict[str, list[str]]] | None:
    """Airflow 3's form (role -> resource -> actions; a bare collection of actions means
    ``DAGs``), sorted for the serialized DAG; warns that Airlane does not enforce it."""
    if access_control is None:
        return None
    converted: dict[str, dict[str, list[str]]] = {}
    for role, perms in access_control.items():
        if isinstance(perms, Mapping):
            converted[str(role)] = {str(k): sorted(v) for k, v in perms.items()}
        elif isinstance(perms, Collection) and not isinstance(perms, str):
            converted[str(role)] = {"DAGs": sorted(perms)}
        else:
            raise AirflowException(
                f"access_control of role {role!r}: expected actions, got {perms!r}"
            )
    warnings.warn(
        "access_control is not enforced by Airlane: its API roles (viewer, op, admin) are those "
        "of Airflow's simple auth manager, which has no DAG-level permissions",
        UserWarning,
        stacklevel=3,
    )
    return converted
