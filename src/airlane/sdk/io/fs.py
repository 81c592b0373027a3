"""``airflow.sdk.io.fs``: the filesystem behind a scheme and a connection.

``file`` and ``local`` are the machine's own; provider packages add theirs: a provider's info
lists ``filesystems``, modules with ``schemes`` and ``get_fs(conn_id[, storage_options])``
(the amazon provider's ``s3``, google's ``gs``...), which build an fsspec filesystem from an
Airflow connection. A scheme no provider registers has no filesystem here, as in Airflow
(``ObjectStoragePath`` without a connection still reaches any store fsspec knows).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airlane.sdk.io.typedef import Properties

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

FsFactory = Callable[..., "AbstractFileSystem"]


def _local(_conn_id: str | None, storage_options: Properties) -> AbstractFileSystem:
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem(**storage_options)


_BUILT_IN: dict[str, FsFactory] = {"file": _local, "local": _local}


@functools.cache
def _registered() -> Mapping[str, FsFactory]:
    """scheme -> factory: the built-in ones, then every installed provider's (read once)."""
    from airlane.sdk.provider_hooks import import_string
    from airlane.sdk.providers_manager import ProvidersManager

    found = dict(_BUILT_IN)
    for module_name in ProvidersManager().filesystem_module_names:
        module = import_string(module_name)
        factory = getattr(module, "get_fs", None)
        if factory is None:
            raise ImportError(f"Filesystem {module_name} does not have a get_fs method")
        for scheme in getattr(module, "schemes", []):
            if scheme in found:
                log.warning("Overriding scheme %s for %s", scheme, module_name)
            found[scheme] = factory
    return found


def get_fs(
    scheme: str, conn_id: str | None = None, storage_options: Properties | None = None
) -> AbstractFileSystem:
    """The filesystem of ``scheme``, authenticated by the connection ``conn_id``."""
    try:
        factory = _registered()[scheme]
    except KeyError:
        raise ValueError(f"No filesystem registered for scheme {scheme}") from None
    options: dict[str, Any] = dict(storage_options or {})
    if len(inspect.signature(factory).parameters) == 1:  # providers older than storage options
        if options:
            raise AttributeError(
                f"Filesystem {scheme} does not support storage options, but options were "
                "passed: its provider is too old for them; upgrade the provider."
            )
        return factory(conn_id)
    return factory(conn_id, options)


def has_fs(scheme: str) -> bool:
    """Whether a filesystem is registered for ``scheme``."""
    return scheme in _registered()
