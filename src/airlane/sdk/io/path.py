"""``airflow.sdk.io.path.ObjectStoragePath``: a ``pathlib`` path on any fsspec store, whose
credentials come from an Airflow connection.

The connection is the URL's user (``s3://aws_default@bucket/key``) or ``conn_id=``; a path
with one reaches its store through ``attach(protocol, conn_id)`` (a provider's filesystem,
``io.fs``), one without through fsspec's own filesystem for the protocol. The path is built
on universal_pathlib's ``ProxyUPath`` (Airflow's base as well): every ``pathlib`` operation
is the wrapped ``UPath``'s, on the connection's filesystem, and a path derived from this one
(``/``, ``parent``, ``iterdir``, ``glob``...) keeps its connection. A path pushed as an XCom is
serialized as ``{"path", "conn_id", "kwargs"}`` (``__version__`` 1), as Airflow's.
"""

from __future__ import annotations

import logging
import shutil
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from fsspec.utils import stringify_path
from upath import UPath
from upath.extensions import ProxyUPath, classmethod_or_method

from airlane.sdk.io.stat import stat_result
from airlane.sdk.io.store import attach

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)


def _split_conn_id(arg: Any) -> tuple[str, str | None, str]:
    """(the URL without its user, that user as a connection id, the URL's scheme)."""
    url = urlsplit(stringify_path(arg))
    user, at, host = url.netloc.rpartition("@")
    if not at:
        return url.geturl(), None, url.scheme
    return url._replace(netloc=host).geturl(), user or None, url.scheme


class ObjectStoragePath(ProxyUPath):
    """A path-like object for object storage."""

    __version__: ClassVar[int] = 1
    sep: ClassVar[str] = "/"
    root_marker: ClassVar[str] = "/"

    __slots__ = ("_conn_id", "_hash_cached")

    _conn_id: str | None
    _hash_cached: int

    def __init__(
        self,
        *args: Any,
        protocol: str | None = None,
        conn_id: str | None = None,
        **storage_options: Any,
    ) -> None:
        from_url: str | None = None
        if args:
            first = args[0]
            if isinstance(first, ObjectStoragePath):
                from_url = first.conn_id
            else:
                url, from_url, scheme = _split_conn_id(first)
                args = (url, *args[1:])
                protocol = protocol or scheme
        storage_options.pop("conn_id", None)
        self._conn_id = conn_id if conn_id is not None else from_url
        super().__init__(*args, protocol=protocol, **storage_options)
        self._use_connection(self.__wrapped__)

    @classmethod_or_method
    def _from_upath(cls_or_self: Any, upath: UPath, /) -> Any:  # type: ignore[override]
        """Wrap ``upath``; called on a path, the new path keeps that path's connection."""
        is_path = isinstance(cls_or_self, ObjectStoragePath)
        cls = type(cls_or_self) if is_path else cls_or_self
        if isinstance(upath, cls):
            return upath
        path = object.__new__(cls)
        path.__wrapped__ = upath
        path._conn_id = cls_or_self._conn_id if is_path else None
        if not hasattr(upath, "_fs_cached"):  # (paths derived from a wrapped one share its fs)
            path._use_connection(upath)
        return path

    def _use_connection(self, wrapped: UPath) -> None:
        """Give ``wrapped`` the connection's filesystem, so that every operation it does uses
        it. A connection that cannot be read now (its provider missing, say) is left to fail
        at the first operation that needs it, with its own error."""
        if self._conn_id is None:
            return
        try:
            wrapped._fs_cached = attach(wrapped.protocol or "file", self._conn_id).fs
        except Exception:
            log.debug(
                "no filesystem yet for %s (connection %s)", self, self._conn_id, exc_info=True
            )

    @property
    def conn_id(self) -> str | None:
        """The id of the connection the path's store is reached with."""
        return getattr(self, "_conn_id", None)

    @property
    def fs(self) -> AbstractFileSystem:
        """The store's filesystem, attached by protocol and connection."""
        return attach(self.protocol or "file", self.conn_id).fs

    def __hash__(self) -> int:
        try:
            return self._hash_cached
        except AttributeError:
            self._hash_cached = hash(str(self))
            return self._hash_cached

    def __eq__(self, other: object) -> bool:
        return self.samestore(other) and str(self) == str(other)

    def __ne__(self, other: object) -> bool:
        # (Airflow's leaves ProxyUPath's, which compares the paths alone: two paths on one
        # bucket through two connections are neither equal nor unequal there)
        return not self.__eq__(other)

    def samestore(self, other: Any) -> bool:
        """Whether ``other`` is a path on the same store (protocol and connection)."""
        return (
            isinstance(other, ObjectStoragePath)
            and self.protocol == other.protocol
            and self.conn_id == other.conn_id
        )

    @property
    def container(self) -> str:
        return self.bucket

    @property
    def bucket(self) -> str:
        return self._url.netloc if self._url else ""

    @property
    def key(self) -> str:
        """The path within its bucket, without leading separators (a trailing one stays)."""
        return self._url.path.lstrip(self.sep) if self._url else ""

    @property
    def namespace(self) -> str:
        return f"{self.protocol}://{self.bucket}" if self.bucket else self.protocol

    def open(self, mode: str = "r", **kwargs: Any) -> Any:  # type: ignore[override]
        """The file at this path, opened on the store's filesystem."""
        kwargs.setdefault("block_size", kwargs.pop("buffering", None))
        return self.fs.open(self.path, mode=mode, **kwargs)

    def stat(self) -> stat_result:  # type: ignore[override]
        return stat_result(self.fs.stat(self.path), protocol=self.protocol, conn_id=self.conn_id)

    def samefile(self, other_path: Any) -> bool:
        """Whether ``other_path`` is this file: on the same store, the same inode where the
        store has inodes, else the same path (Airflow's compares inodes only, and fails on
        stores without them)."""
        if not self.samestore(other_path):
            return False
        mine, theirs = self.stat(), other_path.stat()
        if "ino" in mine and "ino" in theirs:
            return bool(mine["ino"] == theirs["ino"])
        return str(self) == str(other_path)

    def replace(self, target: Any) -> ObjectStoragePath:
        """Rename to ``target``, overwriting it if it exists."""
        return self.rename(target)

    @classmethod
    def cwd(cls) -> ObjectStoragePath:
        return cls._from_upath(UPath.cwd())

    @classmethod
    def home(cls) -> ObjectStoragePath:
        return cls._from_upath(UPath.home())

    # -- fsspec's operations on the path's file -------------------------------------------

    def ukey(self) -> str:
        """A hash of the file's properties: it changes when the file does."""
        return str(self.fs.ukey(self.path))

    def checksum(self) -> int:
        return int(self.fs.checksum(self.path))

    def read_block(self, offset: int, length: int | None, delimiter: bytes | None = None) -> bytes:
        """``length`` bytes from ``offset``; with ``delimiter``, from and to its boundaries."""
        return bytes(self.fs.read_block(self.path, offset, length, delimiter))

    def sign(self, expiration: int = 100, **kwargs: Any) -> str:
        """A signed URL of the file, where the store can make one."""
        return str(self.fs.sign(self.path, expiration=expiration, **kwargs))

    def size(self) -> int:
        return int(self.fs.size(self.path))

    # -- copies and moves, across stores ----------------------------------------------------

    def _stream_to(self, dst: ObjectStoragePath, **kwargs: Any) -> None:
        """Stream this file to ``dst`` (into it, under this key, when it is a directory)."""
        if not dst.key or dst.key.endswith(self.sep):
            dst.mkdir(exist_ok=True, parents=True)
            dst = dst / self.key
        elif dst.is_dir():
            dst = dst / self.key
        with self.open("rb") as source, dst.open("wb") as target:
            shutil.copyfileobj(source, target, **kwargs)

    def copy(  # type: ignore[override]
        self, dst: str | ObjectStoragePath, recursive: bool = False, **kwargs: Any
    ) -> None:
        """Copy this file (or tree, ``recursive``) to ``dst``. Between two remote stores the
        key is kept: ``s3://a/foo/bar`` copied to ``gs://b/`` lands at ``gs://b/foo/bar``."""
        if isinstance(dst, str):
            dst = ObjectStoragePath(dst)
        if self.samestore(dst):
            self.fs.copy(self.path, dst.path, recursive=recursive, **kwargs)
        elif self.protocol == "file":
            dst.fs.put(self.path, dst.path, recursive=recursive, **kwargs)
        elif dst.protocol == "file":
            self.fs.get(self.path, dst.path, recursive=recursive, **kwargs)
        elif not self.exists():
            raise FileNotFoundError(f"{self} does not exist")
        elif self.is_dir():
            self._copy_tree(dst, **kwargs)
        else:
            self._stream_to(dst, **kwargs)

    def _copy_tree(self, dst: ObjectStoragePath, **kwargs: Any) -> None:
        if dst.is_file():
            raise ValueError("Cannot copy directory to a file.")
        dst.mkdir(exist_ok=True, parents=True)
        for found in self.fs.expand_path(self.path, recursive=True, **kwargs):
            if found == self.path:
                continue
            source = ObjectStoragePath(found, protocol=self.protocol, conn_id=self.conn_id)
            if not source.is_dir():  # (empty directories are not created)
                source._stream_to(dst)

    def copy_into(  # type: ignore[override]
        self, target_dir: str | ObjectStoragePath, recursive: bool = False, **kwargs: Any
    ) -> None:
        """Copy this file (or tree) into the directory ``target_dir``, under its name."""
        target_dir = _existing_dir(target_dir)
        self.copy(target_dir / self.name, recursive=recursive, **kwargs)

    def move(  # type: ignore[override]
        self, path: str | ObjectStoragePath, recursive: bool = False, **kwargs: Any
    ) -> None:
        """Move this file (or tree) to ``path``: a rename on one store, else copy and delete."""
        if isinstance(path, str):
            path = ObjectStoragePath(path)
        if self.samestore(path):
            self.fs.move(self.path, path.path, recursive=recursive, **kwargs)
            return
        self.copy(path, recursive=recursive, **kwargs)
        self.unlink()

    def move_into(  # type: ignore[override]
        self, target_dir: str | ObjectStoragePath, recursive: bool = False, **kwargs: Any
    ) -> None:
        """Move this file (or tree) into the directory ``target_dir``, under its name."""
        target_dir = _existing_dir(target_dir)
        self.move(target_dir / self.name, recursive=recursive, **kwargs)

    # -- XCom ---------------------------------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        return {"path": str(self), "conn_id": self.conn_id, "kwargs": {**self.storage_options}}

    @classmethod
    def deserialize(cls, data: dict[str, Any], version: int) -> ObjectStoragePath:
        if version > cls.__version__:
            raise ValueError(
                f"Cannot deserialize version {version} with version {cls.__version__}."
            )
        data = dict(data)
        options = data.pop("kwargs")
        return cls(data.pop("path"), conn_id=data.pop("conn_id", None), **options)

    def __str__(self) -> str:
        if self.protocol and self.conn_id:
            return f"{self.protocol}://{self.conn_id}@{self.path}"
        return super().__str__()


def _existing_dir(target: str | ObjectStoragePath) -> ObjectStoragePath:
    path = ObjectStoragePath(target) if isinstance(target, str) else target
    if not path.is_dir():
        raise NotADirectoryError(f"Destination {path} is not a directory.")
    return path
