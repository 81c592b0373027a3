"""``@asset`` and ``@asset.multi``: a function that materializes assets becomes a DAG.

As in Airflow 3.1 (``airflow.sdk.definitions.asset.decorators``): ``@asset(schedule=...)`` makes
an ``Asset`` named after the function (or ``name=``) and a DAG of that id (or ``dag_id=``, never
catching up) with one task, named after the function, whose outlet is the asset. The function's
arguments without a default are inlets (``Asset.ref(name=<argument>)``) and receive those
assets when it runs; ``self`` receives the asset itself and ``context`` the task's context.
``@asset.multi(outlets=[...], schedule=...)`` makes one task with several outlets. On top of
``@task`` the task's own operator is used, with the assets as its outlets.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from airlane.sdk.assets import Asset, AssetAlias, BaseAsset
from airlane.sdk.context import Context
from airlane.sdk.dag import DAG
from airlane.sdk.decorators import TaskDecorator
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.operators.python import PythonOperator

#: the assets ``@asset`` defined in this process, by name (what its functions' arguments name)
_DEFINED: dict[str, Asset] = {}
_Lookup = Callable[[str], Asset | None]
#: how the runtime finds an asset defined elsewhere (the asset store), None: only ``_DEFINED``
_lookup: _Lookup | None = None
#: the lookup installed around a try (a worker's: the asset registry in Redis)
_try_lookup: ContextVar[_Lookup | None] = ContextVar("airlane_asset_lookup", default=None)


def set_asset_lookup(lookup: _Lookup | None) -> None:
    """Let ``@asset`` functions receive assets this process did not define (by name)."""
    global _lookup
    _lookup = lookup


@contextmanager
def use_asset_lookup(lookup: _Lookup) -> Iterator[None]:
    """``lookup`` for the code that runs inside this block (a worker's tries)."""
    token = _try_lookup.set(lookup)
    try:
        yield
    finally:
        _try_lookup.reset(token)


def asset_by_name(name: str) -> Asset:
    """The asset named ``name``, as Airflow fetches it for an ``@asset`` function's argument
    (from its database: any DAG file's asset)."""
    lookup = _try_lookup.get() or _lookup
    found = _DEFINED.get(name) or (lookup(name) if lookup is not None else None)
    if found is None:
        raise AirflowException(f"Asset {name!r} not found")
    return found


def _check_arguments(function: Callable[..., Any]) -> None:
    for name, param in inspect.signature(function).parameters.items():
        if param.kind == inspect.Parameter.VAR_POSITIONAL:
            raise TypeError(f"wildcard '*{name}' is not supported in @asset")
        if param.kind == inspect.Parameter.VAR_KEYWORD:
            raise TypeError(f"wildcard '**{name}' is not supported in @asset")
        if param.kind == inspect.Parameter.POSITIONAL_ONLY and param.default is param.empty:
            raise TypeError(
                f"positional-only argument '{name}' without a default is not supported in @asset"
            )


class _AssetMainOperator(PythonOperator):
    """The task of an ``@asset`` DAG: calls the function with the assets it names."""

    def __init__(self, *, definition_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._definition_name = definition_name

    @classmethod
    def from_definition(cls, definition: AssetDefinition | MultiAssetDefinition) -> Any:
        function = definition.function
        _check_arguments(function)
        parameters = inspect.signature(function).parameters
        return cls(
            task_id=function.__name__,
            inlets=[
                Asset.ref(name=name)
                for name, param in parameters.items()
                if name not in ("self", "context") and param.default is param.empty
            ],
            outlets=list(definition.iter_outlet_assets()),
            python_callable=function,
            definition_name=definition.name,
        )

    def call_arguments(self, context: Context) -> tuple[list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        for key, param in inspect.signature(self.python_callable).parameters.items():
            if param.default is not param.empty:
                kwargs[key] = param.default
            elif key == "self":
                kwargs[key] = asset_by_name(self._definition_name)
            elif key == "context":
                kwargs[key] = context
            else:
                kwargs[key] = asset_by_name(key)
        return [], kwargs


def _instantiate_task(definition: AssetDefinition | MultiAssetDefinition) -> None:
    function = definition.function
    if isinstance(function, TaskDecorator):
        if "outlets" in function.kwargs:
            raise TypeError("@task decorator with 'outlets' argument is not supported in @asset")
        function.kwargs["outlets"] = list(definition.iter_outlet_assets())
        function()
    else:
        _AssetMainOperator.from_definition(definition)


class _DagFactory:
    """The DAG arguments ``@asset`` and ``@asset.multi`` take."""

    def __init__(
        self,
        *,
        schedule: Any,
        is_paused_upon_creation: bool | None = None,
        dag_id: str | None = None,
        dag_display_name: str | None = None,
        description: str | None = None,
        params: Mapping[str, Any] | None = None,
        on_success_callback: Any = None,
        on_failure_callback: Any = None,
        access_control: Mapping[str, Any] | None = None,
        owner_links: dict[str, str] | None = None,
        tags: Collection[str] | None = None,
    ) -> None:
        self.schedule = schedule
        self.dag_args: dict[str, Any] = {
            "is_paused_upon_creation": is_paused_upon_creation,
            "description": description,
            "params": params,
            "on_success_callback": on_success_callback,
            "on_failure_callback": on_failure_callback,
            "access_control": access_control,
            "owner_links": dict(owner_links or {}),
            "tags": set(tags or ()),
        }
        self.dag_id = dag_id
        self.dag_display_name = dag_display_name

    def create_dag(self, *, default_dag_id: str) -> DAG:
        dag_id = self.dag_id or default_dag_id
        return DAG(
            dag_id=dag_id,
            schedule=self.schedule,
            catchup=False,
            dag_display_name=self.dag_display_name or dag_id,
            auto_register=True,
            **self.dag_args,
        )


def _check_function(function: Callable[..., Any]) -> None:
    if function.__name__ != function.__qualname__:
        raise ValueError("nested function not supported")


class AssetDefinition(Asset):
    """The asset an ``@asset`` function defines; making it makes its DAG."""

    def __init__(self, *, function: Callable[..., Any], source: asset, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.function = function
        self.source = source
        _DEFINED[self.name] = self
        with source.create_dag(default_dag_id=self.name):
            _instantiate_task(self)

    def iter_outlet_assets(self) -> Iterator[Asset]:
        yield self


class MultiAssetDefinition(BaseAsset):
    """What ``@asset.multi`` returns: stands for its outlets in a schedule's condition."""

    def __init__(self, *, function: Callable[..., Any], source: _Multi, name: str) -> None:
        self.function = function
        self.source = source
        self.name = name
        with source.create_dag(default_dag_id=function.__name__):
            _instantiate_task(self)

    def iter_outlet_assets(self) -> Iterator[Any]:
        return iter(self.source.outlets)

    def iter_assets(self) -> Iterator[Asset]:
        for outlet in self.source.outlets:
            yield from outlet.iter_assets()

    def iter_asset_aliases(self) -> Iterator[AssetAlias]:
        for outlet in self.source.outlets:
            yield from outlet.iter_asset_aliases()


class _Multi(_DagFactory):
    """``@asset.multi(outlets=[...], schedule=...)``: one task that updates several assets."""

    def __init__(self, *, outlets: Collection[BaseAsset], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlets = list(outlets)

    def __call__(self, function: Callable[..., Any]) -> MultiAssetDefinition:
        _check_function(function)
        if not self.outlets:
            raise ValueError("no outlets provided")
        return MultiAssetDefinition(function=function, source=self, name=function.__name__)


class asset(_DagFactory):
    """``@asset(schedule=..., name=None, uri=None, group="asset", extra=None)``."""

    multi = _Multi

    def __init__(
        self,
        *,
        name: str | None = None,
        uri: Any = None,
        group: str = Asset.asset_type,
        extra: dict[str, Any] | None = None,
        watchers: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.uri = uri
        self.group = group
        self.extra = dict(extra or {})
        if watchers:
            # Airflow 3.1.8 accepts this argument and drops it; Airlane does not drop it silently
            raise TypeError(
                "@asset(watchers=...) is not used by Airflow 3.1; give the watchers to an "
                "Asset(..., watchers=[AssetWatcher(...)]) in the schedule instead"
            )

    def __call__(self, function: Callable[..., Any]) -> AssetDefinition:
        _check_function(function)
        name = self.name or function.__name__
        return AssetDefinition(
            name=name,
            uri=name if self.uri is None else str(self.uri),
            group=self.group,
            extra=self.extra,
            function=function,
            source=self,
        )


__all__ = ["AssetDefinition", "MultiAssetDefinition", "asset"]
