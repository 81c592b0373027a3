"""PythonSensor (``airflow.providers.standard.sensors.python``): pokes by calling a function."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar

from airlane.sdk.context import Context
from airlane.sdk.operators.python import determine_kwargs
from airlane.sdk.sensors.base import BaseSensorOperator, PokeReturnValue


class PythonSensor(BaseSensorOperator):
    """Done when ``python_callable`` returns a true value (or a PokeReturnValue that is done);
    it gets ``op_args``, ``op_kwargs`` and the context names it asks for, as PythonOperator."""

    template_fields: ClassVar[tuple[str, ...]] = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict

    def poke(self, context: Context) -> bool | PokeReturnValue:
        context["templates_dict"] = self.templates_dict
        available = {**context, **self.op_kwargs}
        kwargs = determine_kwargs(self.python_callable, self.op_args, available)
        result = self.python_callable(*self.op_args, **kwargs)
        return result if isinstance(result, PokeReturnValue) else PokeReturnValue(bool(result))


__all__ = ["PythonSensor"]
