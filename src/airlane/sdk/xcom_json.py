"""``airflow.utils.json``: JSON encoders of XCom values through serde (XCom backends, the
common-io provider's among them, write and read values with them)."""

from __future__ import annotations

import json
from typing import Any

from airlane.sdk.serde import CLASSNAME, SCHEMA_ID, deserialize, serialize


class XComEncoder(json.JSONEncoder):
    """Encodes what serde can serialize (dataclasses, datetimes, tuples...)."""

    def default(self, o: object) -> Any:
        try:
            return serialize(o)
        except TypeError:
            return super().default(o)

    def encode(self, o: Any) -> str:
        if isinstance(o, dict) and (CLASSNAME in o or SCHEMA_ID in o):
            raise AttributeError(f"reserved key {CLASSNAME} found in dict to serialize")
        if isinstance(o, tuple):  # (the standard encoder would write a list)
            o = self.default(o)
        return super().encode(o)


class XComDecoder(json.JSONDecoder):
    """Decodes serde's objects back (a dict with ``__classname__``), other dicts as they are."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("object_hook"):
            kwargs["object_hook"] = self.object_hook
        super().__init__(*args, **kwargs)

    def object_hook(self, dct: dict[str, Any]) -> object:
        return deserialize(dct)

    @staticmethod
    def orm_object_hook(dct: dict[str, Any]) -> object:
        """A readable form of a serialized object."""
        return deserialize(dct, False)


__all__ = ["XComDecoder", "XComEncoder"]
