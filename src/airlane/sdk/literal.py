"""``literal(value)`` (``airflow.sdk``): a value an operator's template field keeps as it is, never
rendered by Jinja (Airflow's ``LiteralValue``: a string with ``{{`` in it stays so)."""

from __future__ import annotations

from typing import Any


class LiteralValue:
    """``value``, to be used as is where a template field is rendered."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def resolve(self, context: Any = None) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"LiteralValue({self.value!r})"


def literal(value: Any) -> LiteralValue:
    """Wrap ``value`` so that rendering the template field it is in leaves it as it is."""
    return LiteralValue(value)


__all__ = ["LiteralValue", "literal"]
