"""``airflow.utils.module_loading`` / ``airflow.sdk.module_loading``: objects by dotted path."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

_DOTPATH = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)*$")


def import_string(dotted_path: str) -> Any:
    """The attribute the last name of ``module.path.name`` designates (ImportError if none)."""
    try:
        module_path, name = dotted_path.rsplit(".", 1)
    except ValueError:
        raise ImportError(f"{dotted_path} doesn't look like a module path") from None
    module = importlib.import_module(module_path)
    try:
        return getattr(module, name)
    except AttributeError:
        raise ImportError(
            f'Module "{module_path}" does not define a "{name}" attribute/class'
        ) from None


def qualname(o: object, use_qualname: bool = False, exclude_module: bool = False) -> str:
    """The dotted path ``import_string`` reads back, of a callable, a class or an instance's
    class (only the qualified name with ``exclude_module``)."""
    if callable(o) and hasattr(o, "__module__"):
        if exclude_module:
            if hasattr(o, "__qualname__"):
                return str(o.__qualname__)
            if hasattr(o, "__name__"):
                return str(o.__name__)
            if isinstance(o, functools.partial):
                return qualname(o.func, exclude_module=True)
            return type(o).__qualname__
        if use_qualname and hasattr(o, "__qualname__"):
            return f"{o.__module__}.{o.__qualname__}"
        if hasattr(o, "__name__"):
            return f"{o.__module__}.{o.__name__}"
    cls = o if isinstance(o, type) else type(o)
    if exclude_module:
        return cls.__qualname__
    if cls.__module__ and cls.__module__ != "__builtin__":
        return f"{cls.__module__}.{cls.__qualname__}"
    return cls.__qualname__


def iter_namespace(ns: ModuleType) -> Iterator[pkgutil.ModuleInfo]:
    """The modules of the package ``ns``."""
    return pkgutil.iter_modules(ns.__path__, ns.__name__ + ".")


def is_valid_dotpath(path: str) -> bool:
    """Whether ``path`` reads as a dotted Python path."""
    return isinstance(path, str) and bool(_DOTPATH.match(path))


__all__ = ["import_string", "is_valid_dotpath", "iter_namespace", "qualname"]
