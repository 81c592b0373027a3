"""DAG params, validated with JSON Schema as in Airflow."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from airlane.sdk.exceptions import ParamValidationError


class _NotSet:
    def __repr__(self) -> str:
        return "NOTSET"


NOTSET: Any = _NotSet()


class Param:
    """A DAG or task param: a default value and a JSON Schema that values must match."""

    def __init__(
        self,
        default: Any = NOTSET,
        description: str | None = None,
        source: str | None = None,
        **schema: Any,
    ) -> None:
        self.value = default
        self.description = description
        #: where the param was defined: "dag" or "task" (Airflow 3's; not a schema keyword)
        self.source = source
        self.schema = schema

    def resolve(self, value: Any = NOTSET, *, suppress_exception: bool = False) -> Any:
        """The effective value (``value`` or the default), checked against the schema."""
        final = self.value if value is NOTSET else value
        if final is NOTSET:
            if suppress_exception:
                return None
            raise ParamValidationError("No value passed and Param has no default value")
        # Imported on first use: jsonschema takes about a third of importing the SDK, which
        # every worker's task process and CLI command pays, DAGs with params or not.
        import jsonschema

        try:
            jsonschema.validate(final, self.schema, format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as err:
            if suppress_exception:
                return None
            raise ParamValidationError(err.message) from None
        return final

    def dump(self) -> dict[str, Any]:
        return {
            "value": None if self.value is NOTSET else self.value,
            "has_default": self.value is not NOTSET,
            "description": self.description,
            "schema": self.schema,
        } | ({"source": self.source} if self.source is not None else {})

    def __repr__(self) -> str:
        return f"Param({self.value!r}, schema={self.schema!r})"


class ParamsDict(MutableMapping[str, Any]):
    """``params`` as templates and callables see them: reading a key gives the resolved value."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._params: dict[str, Param] = {}
        for key, value in (values or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, Param):
            self._params[key] = value
        elif key in self._params:
            self._params[key] = Param(
                value, self._params[key].description, **self._params[key].schema
            )
        else:
            self._params[key] = Param(value)

    def __getitem__(self, key: str) -> Any:
        return self._params[key].resolve(suppress_exception=True)

    def __delitem__(self, key: str) -> None:
        del self._params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def get_param(self, key: str) -> Param:
        return self._params[key]

    def copy(self) -> ParamsDict:
        clone = ParamsDict()
        clone._params = {k: copy.copy(v) for k, v in self._params.items()}
        return clone

    def merged(self, overrides: Mapping[str, Any]) -> ParamsDict:
        clone = self.copy()
        for key, value in overrides.items():
            clone[key] = value
        return clone

    def validate(self) -> dict[str, Any]:
        """Every param resolved; raises ParamValidationError naming the first bad one."""
        resolved: dict[str, Any] = {}
        for key, param in self._params.items():
            try:
                resolved[key] = param.resolve()
            except ParamValidationError as err:
                raise ParamValidationError(f"Invalid input for param {key}: {err}") from None
        return resolved

    def dump(self) -> dict[str, Any]:
        return {key: param.dump() for key, param in self._params.items()}

    def __repr__(self) -> str:
        return f"ParamsDict({dict(self.items())!r})"


def params_from_dump(dump: Mapping[str, Any]) -> ParamsDict:
    """The params of a serialized DAG (``ParamsDict.dump()``) as a ParamsDict again, to check a
    run's ``conf`` where only the serialized DAG is at hand (the API)."""
    params = ParamsDict()
    for key, entry in dump.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("schema"), Mapping):
            continue  # not a dumped Param (a value the serializer could only keep as text)
        default = entry.get("value") if entry.get("has_default", True) else NOTSET
        params[key] = Param(
            default, entry.get("description"), entry.get("source"), **entry["schema"]
        )
    return params
