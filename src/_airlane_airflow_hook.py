"""``import airflow`` in any Python process of an environment that has Airlane and not Airflow.

Airlane's wheel ships ``airlane_airflow_hook.pth`` next to this module; ``site`` runs its one
``import`` line at interpreter start. So ``python my_dag.py`` runs a DAG file written for Airflow
(its ``if __name__ == "__main__": dag.cli()`` block included) without Airlane's loader.

What runs at start is kept to a minimum: one small object at the head of ``sys.meta_path`` that
answers ``None`` at once for every module but ``airflow``; nothing is imported. The first time
``airflow`` (or a submodule) is imported, it decides once for the process:

* the real Airflow is importable (an ``airflow`` package with its own ``__init__.py``; the
  namespace that provider wheels leave behind does not count, as in
  ``airlane.dag_loader.airflow_compat.real_airflow_installed``): it steps aside for good;
* otherwise it installs Airlane's shim (``airflow_compat.install()``, what Airlane's DAG loader
  does) and lets the shim answer.

A process that never imports ``airflow`` never loads Airlane. ``AIRLANE_AIRFLOW_HOOK=0`` in the
environment switches the hook off (``import airflow`` then fails as it would without it).

This module imports nothing that ``site`` has not loaded already (no ``typing``, no
``__future__``: they cost milliseconds at every interpreter start).
"""

import sys

TYPE_CHECKING = False  # mypy reads the block below; Python skips it (typing stays unloaded)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType


def real_airflow_on_path() -> bool:
    """Whether ``sys.path`` holds an ``airflow`` package with a file of its own."""
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("airflow")
    return spec is not None and spec.has_location


class AirflowImportHook:
    """A meta path finder that wakes up on the first ``airflow`` import, then hands over."""

    def __init__(self) -> None:
        self.decided = False

    def find_spec(
        self,
        fullname: str,
        path: "Sequence[str] | None" = None,
        target: "ModuleType | None" = None,
    ) -> "ModuleSpec | None":
        if self.decided or (fullname != "airflow" and not fullname.startswith("airflow.")):
            return None
        # Decided once; the hook stays in sys.meta_path (the import system is iterating over
        # it right now) but answers nothing from here on.
        self.decided = True
        import os

        if os.environ.get("AIRLANE_AIRFLOW_HOOK") == "0" or real_airflow_on_path():
            return None
        from airlane.dag_loader import airflow_compat

        airflow_compat.install()
        return airflow_compat.AirflowCompatFinder().find_spec(fullname, path, target)


def install() -> None:
    """Put the hook first in ``sys.meta_path`` (once): the ``.pth`` line calls this."""
    if not any(isinstance(finder, AirflowImportHook) for finder in sys.meta_path):
        sys.meta_path.insert(0, AirflowImportHook())
