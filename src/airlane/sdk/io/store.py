"""``airflow.sdk.io.store``: filesystems attached by protocol and connection, one per alias.

``attach("s3", conn_id="aws_default")`` names the store ``s3-aws_default``; attaching it again
(or a path on it deserialized) gives the same store, whose filesystem is built on first use.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar

from airlane.sdk.io.typedef import Properties

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


class ObjectStore:
    """A filesystem or object store: its protocol, connection and options."""

    __version__: ClassVar[int] = 1

    def __init__(
        self,
        protocol: str,
        conn_id: str | None,
        fs: AbstractFileSystem | None = None,
        storage_options: Properties | None = None,
    ) -> None:
        self.protocol = protocol
        self.conn_id = conn_id
        self.storage_options = storage_options
        if fs is not None:
            self.__dict__["fs"] = fs  # (the cached property's slot)

    def __str__(self) -> str:
        return f"{self.protocol}-{self.conn_id}" if self.conn_id else self.protocol

    @functools.cached_property
    def fs(self) -> AbstractFileSystem:
        from airlane.sdk.io.fs import get_fs

        return get_fs(self.protocol, self.conn_id, self.storage_options)

    @property
    def fsid(self) -> str:
        """An id to compare stores by (the filesystem's own where it has one)."""
        try:
            return str(self.fs.fsid)
        except NotImplementedError:
            return f"{self.fs.protocol}-{self.conn_id or 'env'}"

    def serialize(self) -> dict[str, Any]:
        fs = self.fs
        return {
            "protocol": self.protocol,
            "conn_id": self.conn_id,
            "filesystem": f"{type(fs).__module__}.{type(fs).__qualname__}" if fs else None,
            "storage_options": self.storage_options,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any], version: int) -> ObjectStore:
        from airlane.sdk.io.fs import has_fs

        if version > cls.__version__:
            raise ValueError(f"Cannot deserialize version {version} for {cls.__name__}")
        protocol, conn_id = data["protocol"], data["conn_id"]
        known = _STORES.get(f"{protocol}-{conn_id}" if conn_id else protocol)
        if known is not None:
            return known
        if data.get("filesystem") and not has_fs(protocol):
            raise ValueError(
                f"No attached filesystem found for {data['filesystem']} with protocol "
                f"{protocol}. Please use attach() for this protocol and filesystem."
            )
        return attach(protocol=protocol, conn_id=conn_id, storage_options=data["storage_options"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectStore):
            return NotImplemented
        if self.conn_id != other.conn_id:
            return False
        try:
            return bool(self.fs == other.fs)
        except ValueError:
            return False

    def __hash__(self) -> int:
        return hash((self.conn_id, self.fsid))


#: alias -> store, for the life of the process (as Airflow's)
_STORES: dict[str, ObjectStore] = {}


def attach(
    protocol: str | None = None,
    conn_id: str | None = None,
    alias: str | None = None,
    encryption_type: str | None = "",
    fs: AbstractFileSystem | None = None,
    **kwargs: Any,
) -> ObjectStore:
    """The store of ``alias``, or of ``protocol`` and ``conn_id``, attached on first use
    (``encryption_type`` is accepted for Airflow's signature; Airflow does not use it either)."""
    if alias:
        known = _STORES.get(alias)
        if known is not None:
            return known
        if not protocol:
            raise ValueError(f"No registered store with alias: {alias}")
    if not protocol:
        raise ValueError("No protocol specified and no alias provided")
    if not alias:
        alias = f"{protocol}-{conn_id}" if conn_id else protocol
        known = _STORES.get(alias)
        if known is not None:
            return known
    store = _STORES[alias] = ObjectStore(protocol, conn_id, fs=fs, **kwargs)
    return store
