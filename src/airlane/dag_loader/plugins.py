"""The plugins folder (``AIRLANE_PLUGINS_FOLDER``, Airflow's ``plugins/``): custom timetables
and priority weight strategies.

As Airflow's plugins manager does, every ``.py`` file under the folder is executed as a module
named after the file (``plugins/workday.py`` -> ``workday``), the folder is put on ``sys.path``
so that DAG files can ``from workday import AfterWorkdayTimetable``, and each ``AirflowPlugin``
subclass found in a module is registered: its ``timetables`` become the classes the scheduler
may re-create from a serialized DAG (by class path), its ``priority_weight_strategies`` the
classes that tasks' ``weight_rule`` may name (``sdk/priority_strategy.py``). A file that fails
to import, or a plugin Airlane cannot honour, is recorded as an error naming the file; the
other plugins still load.

Loaded once per process, on first need: by the DAG processor's import of a DAG file, by the
worker and ``dags test`` the same way, by the coordinator and the API at startup.

``AIRLANE_AIRFLOW_EXAMPLE_DAGS`` (the compatibility suite's): a folder holding Airflow's own
example DAGs; the shim serves it as ``airflow.example_dags`` and its ``plugins/`` files are
loaded as ``airflow.example_dags.plugins.<name>``, as Airflow does with ``load_examples``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from airlane.dag_loader import airflow_compat
from airlane.sdk import priority_strategy
from airlane.sdk.plugins import AirflowPlugin

log = logging.getLogger("airlane.plugins")

PLUGINS_FOLDER_ENV = "AIRLANE_PLUGINS_FOLDER"
EXAMPLE_DAGS_ENV = airflow_compat.EXAMPLE_DAGS_ENV
_EXAMPLE_PREFIX = "airflow.example_dags.plugins"


@dataclass(frozen=True, slots=True)
class LoadedPlugin:
    """A plugin registered from a file (the API's ``/api/v2/plugins``)."""

    name: str
    #: Airflow's source of a plugin from the plugins folder: ``$PLUGINS_FOLDER/<relative path>``
    source: str
    timetables: tuple[str, ...]
    priority_weight_strategies: tuple[str, ...]


@dataclass
class _Registry:
    loaded: bool = False
    timetables: dict[str, type[Any]] = field(default_factory=dict)
    plugins: list[LoadedPlugin] = field(default_factory=list)
    #: plugin file -> why it could not be used
    errors: dict[str, BaseException] = field(default_factory=dict)


_REGISTRY = _Registry()
_LOCK = threading.RLock()


def class_path(cls: type[Any]) -> str:
    """Airflow's importable name of a class: ``<module>.<qualname>``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def plugins_folder() -> str | None:
    folder = os.environ.get(PLUGINS_FOLDER_ENV)
    return os.path.abspath(folder) if folder else None


def _python_files(folder: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".py")]
    return found


def exec_file(module_name: str, path: str) -> ModuleType:
    """Run the Python file ``path`` as the module ``module_name`` (in ``sys.modules`` while
    it runs, as an import would put it; removed again if it raises)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _register(module: ModuleType, path: str, folder: str) -> None:
    for value in list(vars(module).values()):
        if not (
            isinstance(value, type)
            and issubclass(value, AirflowPlugin)
            and value is not AirflowPlugin
            and value.__module__ == module.__name__
        ):
            continue
        value.validate()
        value.on_load()
        for timetable in value.timetables:
            _REGISTRY.timetables[class_path(timetable)] = timetable
        for strategy in value.priority_weight_strategies:
            priority_strategy.register(strategy)
        _REGISTRY.plugins.append(
            LoadedPlugin(
                name=str(value.name),
                source=f"$PLUGINS_FOLDER/{os.path.relpath(path, folder)}",
                timetables=tuple(class_path(t) for t in value.timetables),
                priority_weight_strategies=tuple(
                    class_path(t) for t in value.priority_weight_strategies
                ),
            )
        )
        log.info("plugin %s loaded from %s", value.name, path)


def _load_location(prefix: str, folder: str) -> None:
    for path in _python_files(folder):
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem == "__init__":
            continue
        name = f"{prefix}.{stem}" if prefix else stem
        try:
            _register(exec_file(name, path), path, folder)
        except (Exception, SystemExit) as err:  # a plugin's exit() must not stop the process
            log.exception("failed to import plugin %s", path)
            _REGISTRY.errors[path] = err


def _locations() -> list[tuple[str, str]]:
    found = []
    folder = plugins_folder()
    if folder and os.path.isdir(folder):
        if folder not in sys.path:
            sys.path.append(folder)
        found.append(("", folder))
    examples = os.environ.get(EXAMPLE_DAGS_ENV)
    if examples and os.path.isdir(os.path.join(examples, "plugins")):
        importlib.import_module(_EXAMPLE_PREFIX)
        found.append((_EXAMPLE_PREFIX, os.path.join(os.path.abspath(examples), "plugins")))
    return found


def ensure_loaded() -> None:
    """Load the plugins of this process's folders, once (later calls return at once)."""
    if _REGISTRY.loaded:
        return
    with _LOCK:
        _load_once()


def _load_once() -> None:
    if not _REGISTRY.loaded:
        airflow_compat.install()
        for prefix, folder in _locations():
            _load_location(prefix, folder)
    _REGISTRY.loaded = True


def timetable_class(path: str) -> type[Any] | None:
    """The registered timetable class of this class path, None when no plugin registers it."""
    ensure_loaded()
    return _REGISTRY.timetables.get(path)


def import_errors() -> dict[str, str]:
    """Plugin file -> its error, for the files that could not be loaded."""
    return {path: f"{type(err).__name__}: {err}" for path, err in failures().items()}


def loaded_plugins() -> list[LoadedPlugin]:
    """The plugins registered, in the order they loaded."""
    ensure_loaded()
    return list(_REGISTRY.plugins)


def failures() -> dict[str, BaseException]:
    """Plugin file -> the exception that stopped it loading."""
    ensure_loaded()
    return dict(_REGISTRY.errors)


def reset_for_tests() -> None:
    """Forget what was loaded (tests point the folder elsewhere between cases)."""
    with _LOCK:
        _REGISTRY.loaded = False
        _REGISTRY.timetables.clear()
        _REGISTRY.plugins.clear()
        _REGISTRY.errors.clear()
        priority_strategy.forget_registered()
