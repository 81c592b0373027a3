"""Airflow's import paths, resolved to Airlane's objects when the real Airflow is not installed.

A DAG file written for Airflow 1.x, 2.x or 3.x imports ``airflow.operators.bash_operator``,
``airflow.providers.standard.operators.python``, ``airflow.sdk`` and so on. The finder below
builds those modules from Airlane's own; an Airflow module we do not provide (a provider
package, say) fails with a ModuleNotFoundError that names it.

Provider wheels install ``site-packages/airflow/`` as a namespace package (no ``__init__.py``), so
an importable ``airflow`` does not mean the real Airflow is there: only an ``airflow`` with a file
of its own (``airflow/__init__.py``) does. The finder goes first on ``sys.meta_path`` so that it
wins over such a namespace, and gives its packages the namespace's directories as their path: an
installed ``airflow.providers.<name>`` stays importable under the shim.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

_SDK = "airlane.sdk"
_BASH = "airlane.sdk.operators.bash"
_PYTHON = (
    "airlane.sdk.operators.python",
    "airlane.sdk.operators.python_virtualenv",
    "airlane.sdk.context",
)
_EMPTY = "airlane.sdk.operators.empty"
_TRIGGER = "airlane.sdk.operators.trigger_dagrun"
_SENSOR_BASE = "airlane.sdk.sensors.base"
_TIME = "airlane.sdk.sensors.time_delta"
_FILE = "airlane.sdk.sensors.filesystem"
_EXTERNAL = "airlane.sdk.sensors.external_task"
_LATEST = "airlane.sdk.operators.latest_only"
_WEEKDAY = "airlane.sdk.operators.weekday"
_DATETIME = "airlane.sdk.operators.branch_datetime"

#: Airflow module -> the Airlane modules whose public names it exports.
MODULES: dict[str, tuple[str, ...]] = {
    "airflow": (_SDK, "airlane.sdk.airflow_version", "airlane.sdk.datasets"),
    "airflow.models": (_SDK, "airlane.sdk.variable", "airlane.sdk.params", "airlane.sdk.models"),
    "airflow.models.dag": ("airlane.sdk.dag",),
    "airflow.models.baseoperator": ("airlane.sdk.baseoperator",),
    "airflow.models.param": ("airlane.sdk.params",),
    "airflow.models.variable": ("airlane.sdk.variable",),
    "airflow.models.dagrun": ("airlane.sdk.models",),
    "airflow.models.taskinstance": ("airlane.sdk.models",),
    "airflow.models.xcom_arg": ("airlane.sdk.xcom_arg",),
    "airflow.models.mappedoperator": ("airlane.sdk.mapped",),
    "airflow.operators": (),
    "airflow.operators.bash": (_BASH,),
    "airflow.operators.bash_operator": (_BASH,),
    "airflow.operators.python": _PYTHON,
    "airflow.operators.python_operator": _PYTHON,
    "airflow.operators.branch": _PYTHON,
    "airflow.operators.empty": (_EMPTY,),
    "airflow.operators.dummy": (_EMPTY,),
    "airflow.operators.dummy_operator": (_EMPTY,),
    "airflow.operators.trigger_dagrun": (_TRIGGER,),
    "airflow.operators.latest_only": (_LATEST,),
    "airflow.operators.latest_only_operator": (_LATEST,),
    "airflow.operators.weekday": (_WEEKDAY,),
    "airflow.operators.datetime": (_DATETIME,),
    "airflow.operators.dagrun_operator": (_TRIGGER,),
    "airflow.operators.subdag": ("airlane.sdk.operators.subdag",),
    "airflow.operators.subdag_operator": ("airlane.sdk.operators.subdag",),
    "airflow.sensors": (),
    "airflow.sensors.base": (_SENSOR_BASE,),
    "airflow.sensors.base_sensor_operator": (_SENSOR_BASE,),
    "airflow.sensors.time_delta": (_TIME,),
    "airflow.sensors.time_delta_sensor": (_TIME,),
    "airflow.sensors.date_time": (_TIME,),
    "airflow.sensors.filesystem": (_FILE,),
    "airflow.sensors.external_task": (_EXTERNAL,),
    "airflow.sensors.bash": ("airlane.sdk.sensors.bash",),
    "airflow.sensors.python": ("airlane.sdk.sensors.python",),
    "airflow.sensors.time_sensor": (_TIME,),
    "airflow.sensors.weekday": ("airlane.sdk.sensors.weekday",),
    "airflow.sensors.external_task_sensor": (_EXTERNAL,),
    "airflow.decorators": ("airlane.sdk.decorators",),
    "airflow.timetables": (),
    "airflow.timetables.base": ("airlane.sdk.timetable_base",),
    "airflow.timetables.interval": ("airlane.sdk.timetables",),
    "airflow.timetables.trigger": ("airlane.sdk.timetables",),
    "airflow.timetables.events": ("airlane.sdk.timetables",),
    "airflow.sdk": (_SDK, "airlane.sdk.params", "airlane.sdk.variable", "airlane.sdk.sdk_version"),
    "airflow.sdk.bases": (),
    "airflow.sdk.bases.operator": ("airlane.sdk.baseoperator",),
    "airflow.sdk.bases.sensor": (_SENSOR_BASE,),
    "airflow.sdk.bases.branch": _PYTHON,
    "airflow.sdk.bases.skipmixin": _PYTHON,
    "airflow.sdk.bases.notifier": ("airlane.sdk.notifier",),
    "airflow.notifications": (),
    "airflow.notifications.basenotifier": ("airlane.sdk.notifier",),
    "airflow.sdk.exceptions": ("airlane.sdk.exceptions",),
    "airflow.sdk.timezone": ("airlane.sdk.timezone",),
    "airflow.sdk.definitions": (),
    "airflow.sdk.definitions.context": ("airlane.sdk.context", "airlane.sdk.parsing_context"),
    "airflow.utils.dag_parsing_context": ("airlane.sdk.parsing_context",),
    "airflow.sdk.definitions.template": ("airlane.sdk.literal",),
    "airflow.sdk.bases.operatorlink": ("airlane.sdk.operator_link",),
    "airflow.sdk.bases.resumablejobmixin": ("airlane.sdk.resumable_job",),
    "airflow.models.baseoperatorlink": ("airlane.sdk.operator_link",),
    "airflow.sdk.definitions.dag": ("airlane.sdk.dag",),
    "airflow.sdk.definitions.edges": ("airlane.sdk.edges",),
    "airflow.sdk.definitions.mappedoperator": ("airlane.sdk.mapped",),
    "airflow.sdk.definitions.param": ("airlane.sdk.params",),
    "airflow.sdk.definitions.taskgroup": ("airlane.sdk.taskgroup",),
    "airflow.sdk.definitions.variable": ("airlane.sdk.variable",),
    "airflow.sdk.definitions.xcom_arg": ("airlane.sdk.xcom_arg",),
    "airflow.providers": (),
    "airflow.providers.common": (),
    "airflow.providers.common.compat": (),
    # The provider's lazy re-exports of Airflow 3's SDK names (TriggerRule, Context, timezone...)
    "airflow.providers.common.compat.sdk": (
        _SDK,
        "airlane.sdk.exceptions",
        "airlane.sdk.params",
        "airlane.sdk.variable",
        *_PYTHON,
        "airlane.sdk.configuration",
        "airlane.sdk.lineage",
        "airlane.sdk.arg_types",
        "airlane.sdk.secrets_masker",
    ),
    "airflow.providers.standard": (),
    "airflow.providers.standard.operators": (),
    "airflow.providers.standard.operators.bash": (_BASH,),
    "airflow.providers.standard.operators.python": _PYTHON,
    "airflow.providers.standard.operators.branch": _PYTHON,
    "airflow.providers.standard.operators.empty": (_EMPTY,),
    "airflow.providers.standard.operators.trigger_dagrun": (_TRIGGER,),
    "airflow.providers.standard.operators.latest_only": (_LATEST,),
    "airflow.providers.standard.operators.hitl": ("airlane.sdk.operators.hitl",),
    "airflow.providers.standard.operators.weekday": (_WEEKDAY,),
    "airflow.providers.standard.operators.datetime": (_DATETIME,),
    "airflow.providers.standard.utils": (),
    "airflow.providers.standard.utils.weekday": (_WEEKDAY,),
    "airflow.providers.standard.sensors": (),
    "airflow.providers.standard.sensors.time_delta": (_TIME,),
    "airflow.providers.standard.sensors.date_time": (_TIME,),
    "airflow.providers.standard.sensors.filesystem": (_FILE,),
    "airflow.providers.standard.sensors.external_task": (_EXTERNAL,),
    "airflow.providers.standard.sensors.bash": ("airlane.sdk.sensors.bash",),
    "airflow.providers.standard.sensors.python": ("airlane.sdk.sensors.python",),
    "airflow.providers.standard.sensors.time": (_TIME,),
    "airflow.providers.standard.sensors.weekday": ("airlane.sdk.sensors.weekday",),
    "airflow.utils": (),
    "airflow.utils.trigger_rule": ("airlane.sdk.trigger_rule",),
    "airflow.utils.task_group": ("airlane.sdk.taskgroup",),
    "airflow.utils.dates": ("airlane.sdk.timezone",),
    "airflow.utils.timezone": ("airlane.sdk.timezone",),
    "airflow.utils.helpers": ("airlane.sdk.node", "airlane.sdk.helpers"),
    "airflow.utils.edgemodifier": ("airlane.sdk.edges",),
    "airflow.utils.state": ("airlane.sdk.state",),
    "airflow.utils.weekday": (_WEEKDAY,),
    "airflow.utils.context": ("airlane.sdk.context",),
    "airflow.exceptions": ("airlane.sdk.exceptions",),
    "airflow.plugins_manager": ("airlane.sdk.plugins",),
    "airflow.utils.types": ("airlane.sdk.timetable_base", "airlane.sdk.arg_types"),
    "airflow.configuration": ("airlane.sdk.configuration",),
    "airflow.models.connection": ("airlane.sdk.connection",),
    "airflow.hooks": (),
    "airflow.hooks.base": ("airlane.sdk.hooks.base",),
    "airflow.sdk.bases.hook": ("airlane.sdk.hooks.base",),
    "airflow.sdk.definitions.connection": ("airlane.sdk.connection",),
    "airflow.sdk.log": ("airlane.sdk.secrets_masker",),
    "airflow.sdk.execution_time": (),
    "airflow.sdk.execution_time.secrets_masker": ("airlane.sdk.secrets_masker",),
    # Airflow 3.3's state stores: NEVER_EXPIRE and the accessors
    "airflow.sdk.execution_time.context": ("airlane.sdk.state_store",),
    "airflow.utils.log": (),
    "airflow.utils.log.secrets_masker": ("airlane.sdk.secrets_masker",),
    "airflow.providers.standard.exceptions": ("airlane.sdk.sensors.external_errors",),
    # The core surface provider packages import (h7-surface)
    "airflow.sdk.configuration": ("airlane.sdk.configuration",),
    "airflow.utils.log.logging_mixin": ("airlane.sdk.logging_mixin",),
    "airflow.utils.module_loading": ("airlane.sdk.module_loading",),
    "airflow.sdk.module_loading": ("airlane.sdk.module_loading",),
    # XCom values' serialization (Airflow 3.1's module, and the task SDK's since)
    "airflow.serialization": (),
    "airflow.serialization.serde": ("airlane.sdk.serde",),
    "airflow.sdk.serde": ("airlane.sdk.serde",),
    # Airflow 3.3's retry policies (also exported by airflow.sdk)
    "airflow.sdk.definitions.retry_policy": ("airlane.sdk.retry_policy",),
    "airflow.utils.operator_helpers": ("airlane.sdk.operator_helpers",),
    "airflow.sdk.definitions._internal": (),
    "airflow.sdk.definitions._internal.types": ("airlane.sdk.arg_types",),
    "airflow.sdk.definitions._internal.templater": ("airlane.sdk.templater",),
    "airflow.lineage": (),
    "airflow.lineage.hook": ("airlane.sdk.lineage",),
    "airflow.sdk.lineage": ("airlane.sdk.lineage",),
    "airflow.sdk.bases.decorator": ("airlane.sdk.task_decorator",),
    "airflow.decorators.base": ("airlane.sdk.task_decorator",),
    "airflow.providers_manager": ("airlane.sdk.providers_manager",),
    # What the http provider imports at load (h7-providers)
    "airflow.utils.strings": ("airlane.sdk.strings",),
    "airflow.triggers": (),
    "airflow.triggers.base": ("airlane.sdk.triggers",),
    "airflow.task": (),
    "airflow.task.priority_strategy": ("airlane.sdk.priority_strategy",),
    "airflow.task.weight_rule": ("airlane.sdk.priority_strategy",),
    # Deferral (h7-defer)
    "airflow.triggers.temporal": ("airlane.sdk.triggers.temporal",),
    "airflow.triggers.file": ("airlane.sdk.triggers.file",),
    "airflow.triggers.external_task": ("airlane.sdk.triggers.external_task",),
    "airflow.providers.standard.triggers": (),
    "airflow.providers.standard.triggers.temporal": ("airlane.sdk.triggers.temporal",),
    "airflow.providers.standard.triggers.file": ("airlane.sdk.triggers.file",),
    "airflow.providers.standard.triggers.external_task": ("airlane.sdk.triggers.external_task",),
    # HITL operators defer (h8-hitl)
    "airflow.providers.standard.triggers.hitl": ("airlane.sdk.triggers.hitl",),
    # Assets (h8-assetsdk, issue 18)
    "airflow.sdk.definitions.asset": ("airlane.sdk.assets",),
    "airflow.sdk.definitions.asset.metadata": ("airlane.sdk.assets",),
    "airflow.sdk.definitions.asset.decorators": ("airlane.sdk.asset_decorator",),
    "airflow.datasets": ("airlane.sdk.datasets",),
    "airflow.datasets.metadata": ("airlane.sdk.assets",),
    "airflow.timetables.assets": ("airlane.sdk.asset_schedule",),
    "airflow.timetables.datasets": ("airlane.sdk.asset_schedule",),
    # Deadline alerts (Airflow 3.1; airflow.sdk exports them from 3.2)
    "airflow.sdk.definitions.deadline": ("airlane.sdk.deadline",),
    "airflow.sdk.definitions.callback": ("airlane.sdk.deadline",),
    # Object storage (airflow.io in Airflow 2.8+, airflow.sdk.io in 3)
    "airflow.sdk.io": ("airlane.sdk.io",),
    "airflow.sdk.io.path": ("airlane.sdk.io.path",),
    "airflow.sdk.io.store": ("airlane.sdk.io.store",),
    "airflow.sdk.io.fs": ("airlane.sdk.io.fs",),
    "airflow.sdk.io.stat": ("airlane.sdk.io.stat",),
    "airflow.sdk.io.typedef": ("airlane.sdk.io.typedef",),
    "airflow.io": ("airlane.sdk.io",),
    "airflow.io.path": ("airlane.sdk.io.path",),
    "airflow.io.store": ("airlane.sdk.io.store",),
    "airflow.io.typedef": ("airlane.sdk.io.typedef",),
    # XCom backends ([core] xcom_backend; Airflow 2's and 3's module names)
    "airflow.sdk.bases.xcom": ("airlane.sdk.xcom",),
    "airflow.sdk.execution_time.xcom": ("airlane.sdk.xcom_resolved",),
    "airflow.models.xcom": ("airlane.sdk.xcom", "airlane.sdk.xcom_resolved"),
    "airflow.sdk.execution_time.comms": ("airlane.sdk.xcom",),
    "airflow.utils.json": ("airlane.sdk.xcom_json",),
}

#: a folder of Airflow's own example DAGs to serve as ``airflow.example_dags`` (see
#: ``dag_loader.plugins``; set by the compatibility suite)
EXAMPLE_DAGS_ENV = "AIRLANE_AIRFLOW_EXAMPLE_DAGS"

#: Provider packages the shim stands in for only while they are not installed (or fail to import
#: here). The real ``apache-airflow-providers-common-compat`` resolves each name lazily from
#: ``airflow.sdk`` (its Airflow 3 path, see ``airlane.sdk.airflow_version``), which the shim
#: serves, so once installed it wins: the providers that require it get the module they were
#: built against. The standard provider is not listed: Airlane's own operators answer for it.
INSTALLED_PACKAGE_WINS: tuple[str, ...] = ("airflow.providers.common.compat",)

#: Airflow module -> its attributes that are modules (``from ...compat.sdk import timezone``).
MODULE_ATTRIBUTES: dict[str, dict[str, str]] = {
    "airflow.providers.common.compat.sdk": {"timezone": "airflow.sdk.timezone"},
}


def _installed_wins(name: str) -> bool:
    """Whether ``name`` is a stand-in that an installed provider package replaces."""
    return any(name == p or name.startswith(p + ".") for p in INSTALLED_PACKAGE_WINS)


def _is_package(name: str) -> bool:
    prefix = name + "."
    return any(other.startswith(prefix) for other in MODULES)


class _AliasLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        lazy: dict[str, str] = {}
        for source_name in MODULES[module.__name__]:
            source = importlib.import_module(source_name)
            names = getattr(source, "__all__", None) or [
                n for n in vars(source) if not n.startswith("_")
            ]
            for name in names:
                setattr(module, name, getattr(source, name))
            lazy.update(getattr(source, "LAZY_NAMES", {}))
        for name, target in MODULE_ATTRIBUTES.get(module.__name__, {}).items():
            setattr(module, name, importlib.import_module(target))
        public = [n for n in vars(module) if not n.startswith("_") and n != "LAZY_NAMES"]
        module.__dict__.setdefault("__all__", public + sorted(lazy))
        if lazy or module.__name__ in REFUSED_NAMES:
            module.__getattr__ = _lazy_getattr(module.__name__, lazy)  # type: ignore[method-assign]


#: Airflow 3.3's partitioned assets (its Task SDK 1.3's names), which Airlane does not have:
#: importing one is an import error saying so, not "cannot import name"
_PARTITIONS = frozenset(
    {
        *("AllowedKeyMapper", "ChainMapper", "CronPartitionTimetable", "DayWindow"),
        *("FanOutMapper", "FixedKeyMapper", "HourWindow", "IdentityMapper", "MinimumCount"),
        *("MonthWindow", "PartitionedAtRuntime", "PartitionedAssetTimetable"),
        *("PartitionMapper", "ProductMapper", "QuarterWindow", "RollupMapper"),
        *("SegmentWindow", "StartOfDayMapper", "StartOfHourMapper", "StartOfMonthMapper"),
        *("StartOfQuarterMapper", "StartOfWeekMapper", "StartOfYearMapper", "WaitForAll"),
        *("WeekWindow", "Window", "YearWindow"),
    }
)
REFUSED_NAMES: dict[str, dict[str, str]] = {
    "airflow.sdk": {
        name: (
            f"airflow.sdk.{name} is part of Airflow 3.3's partitioned assets, which Airlane "
            "does not have (no asset partitions, partition keys or partitioned timetables)"
        )
        for name in _PARTITIONS
    }
}


def _lazy_getattr(module_name: str, lazy: dict[str, str]) -> Any:
    """A module ``__getattr__`` that imports the names of ``lazy`` (name -> module) on first
    use: ``airflow.sdk.ObjectStoragePath`` loads fsspec only for the files that use it. A
    name Airlane refuses (``REFUSED_NAMES``) is an ImportError saying why."""
    refused = REFUSED_NAMES.get(module_name, {})

    def __getattr__(name: str) -> Any:
        if name in refused:
            raise ImportError(refused[name], name=name)
        if name not in lazy:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        from airlane.sdk import lazy_import

        return lazy_import(lazy[name])

    return __getattr__


class _InstalledOrAliasLoader(importlib.abc.Loader):
    """Runs the installed module; if it fails to import (it needs Airflow modules the shim does
    not serve), the module gets the shim's stand-in names instead."""

    def __init__(self, installed: importlib.abc.Loader) -> None:
        self.installed = installed

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        try:
            self.installed.exec_module(module)
        except ImportError:
            for name in [n for n in vars(module) if not n.startswith("__")]:
                delattr(module, name)
            module.__dict__.pop("__all__", None)
            _AliasLoader().exec_module(module)


def _installed_or_alias_spec(installed: ModuleSpec) -> ModuleSpec:
    assert installed.loader is not None
    spec = importlib.machinery.ModuleSpec(
        installed.name,
        _InstalledOrAliasLoader(installed.loader),
        origin=installed.origin,
        is_package=installed.submodule_search_locations is not None,
    )
    spec.has_location = installed.has_location
    if installed.submodule_search_locations is not None:
        spec.submodule_search_locations = list(installed.submodule_search_locations)
    return spec


class AirflowCompatFinder(importlib.abc.MetaPathFinder):
    """Resolves ``airflow`` and ``airflow.*`` imports to alias modules."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        if fullname == "airflow.example_dags" and os.environ.get(EXAMPLE_DAGS_ENV):
            return _example_dags_spec(fullname, os.environ[EXAMPLE_DAGS_ENV])
        if fullname in MODULES and _installed_wins(fullname):
            installed = importlib.machinery.PathFinder.find_spec(fullname, path)  # type: ignore[arg-type]
            if installed is not None and installed.loader is not None:
                return _installed_or_alias_spec(installed)
        if fullname not in MODULES:
            installed = importlib.machinery.PathFinder.find_spec(fullname, path)  # type: ignore[arg-type]
            if installed is not None:
                return installed
            raise ModuleNotFoundError(
                f"No module named '{fullname}': Airlane provides Airflow's core operators, "
                "not this module (it needs the real Airflow or a provider package)",
                name=fullname,
            )
        is_package = _is_package(fullname) or bool(_installed_locations(fullname))
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(), is_package=is_package)
        if is_package:
            spec.submodule_search_locations = _installed_locations(fullname)
        return spec


def _example_dags_spec(fullname: str, folder: str) -> ModuleSpec | None:
    folder = os.path.abspath(folder)
    init = os.path.join(folder, "__init__.py")
    if os.path.isfile(init):
        return importlib.util.spec_from_file_location(
            fullname, init, submodule_search_locations=[folder]
        )
    spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
    spec.submodule_search_locations = [folder]
    return spec


def _airflow_namespace() -> ModuleSpec | None:
    """The ``airflow`` that ``sys.path`` holds (real or a namespace), ignoring the shim."""
    return importlib.machinery.PathFinder.find_spec("airflow")


def _installed_locations(fullname: str) -> list[str]:
    """The directories of installed packages (providers) that belong to the package ``fullname``."""
    spec = _airflow_namespace()
    if spec is None or spec.submodule_search_locations is None:
        return []
    parts = fullname.split(".")[1:]
    candidates = (os.path.join(root, *parts) for root in spec.submodule_search_locations)
    return [folder for folder in candidates if os.path.isdir(folder)]


def real_airflow_installed() -> bool:
    """Whether the real Airflow is importable: an ``airflow`` package with its own
    ``__init__.py``, not the namespace that provider wheels leave behind."""
    if any(isinstance(f, AirflowCompatFinder) for f in sys.meta_path):
        return False
    spec = _airflow_namespace()
    return spec is not None and spec.has_location


def install() -> None:
    """Make ``import airflow...`` resolve to Airlane, unless the real Airflow is installed."""
    if any(isinstance(f, AirflowCompatFinder) for f in sys.meta_path) or real_airflow_installed():
        return
    # First, ahead of the path finder: a namespace ``airflow`` on sys.path must not win.
    sys.meta_path.insert(0, AirflowCompatFinder())
