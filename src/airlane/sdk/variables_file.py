"""``dag.test(variable_file_path=...)``: variables read from a local file, as Airflow's
LocalFilesystemBackend reads them (``.json``, ``.env``, ``.yaml``/``.yml``), laid over the
environment's variables for the duration of the test run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from airlane.sdk.exceptions import AirflowException
from airlane.sdk.variable import VariableStore, current_variable_store, use_variable_store

_FORMATS = (".env", ".json", ".yaml", ".yml")


def load_variables(path: str) -> dict[str, str]:
    """The file's variables; a value that is not a string is kept as its JSON text (so that
    ``Variable.get(key, deserialize_json=True)`` returns it)."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in _FORMATS:
        raise AirflowException(
            "Unsupported file format. The file must have one of the following extensions: "
            + " ".join(_FORMATS)
        )
    if not os.path.exists(path):
        raise AirflowException(f"File {path} was not found.")
    with open(path, encoding="utf-8") as handle:
        content = handle.read()
    data = _parse_env(path, content) if extension == ".env" else _parse_document(path, content)
    return {key: value if isinstance(value, str) else _json(value) for key, value in data.items()}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _parse_document(path: str, content: str) -> dict[str, Any]:
    try:
        if path.lower().endswith(".json"):
            data = orjson.loads(content) if content.strip() else {}
        else:
            import yaml  # PyYAML: only needed for this format

            data = yaml.safe_load(content) or {}
    except ImportError:
        raise AirflowException(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from None
    except Exception as err:
        raise AirflowException(f"{path}: cannot parse the file: {err}") from None
    if not isinstance(data, dict):
        raise AirflowException(f"{path}: the file must contain a mapping of variables")
    return data


def _parse_env(path: str, content: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise AirflowException(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        if key.strip() in found:
            raise AirflowException(f"{path}: the variable {key.strip()!r} is set more than once")
        found[key.strip()] = value.strip()
    return found


class FileVariableStore:
    """The file's variables first, then ``fallback``; what the run sets stays in memory."""

    def __init__(self, values: dict[str, str], fallback: VariableStore) -> None:
        self._values = dict(values)
        self._fallback = fallback

    def get(self, key: str) -> str | None:
        return self._values[key] if key in self._values else self._fallback.get(key)

    def set(self, key: str, value: str, description: str | None = None) -> None:
        self._values[key] = value

    def delete(self, key: str) -> None:
        self._values.pop(key, None)

    def keys(self, prefix: str | None = None) -> list[str]:
        mine = {k for k in self._values if prefix is None or k.startswith(prefix)}
        return sorted(mine | set(self._fallback.keys(prefix)))


@contextmanager
def variables_from_file(path: str | None) -> Iterator[None]:
    """Within the block, ``Variable.get`` reads ``path``'s variables first (nothing if None)."""
    if path is None:
        yield
        return
    with use_variable_store(FileVariableStore(load_variables(path), current_variable_store())):
        yield
