"""``airflow.sdk.io.stat``: what ``ObjectStoragePath.stat()`` returns.

fsspec's ``info`` is a dict whose keys differ by store (``size``, ``type``, ``mtime`` or
``LastModified``...); the result keeps it whole (with the path's ``protocol`` and ``conn_id``
added) and reads the ``os.stat_result`` attributes from it, as Airflow's ``stat_result``.
"""

from __future__ import annotations

from stat import S_IFDIR, S_IFLNK, S_IFREG
from typing import Any


class stat_result(dict[str, Any]):
    """fsspec's info of a path, read as ``os.stat`` reads (missing fields are 0)."""

    def __init__(self, info: dict[str, Any], protocol: str | None, conn_id: str | None) -> None:
        super().__init__(info)
        self["protocol"] = protocol
        self["conn_id"] = conn_id

    @property
    def st_dev(self) -> int:
        return 0

    @property
    def st_size(self) -> int:
        return int(self.get("size") or 0)

    @property
    def st_gid(self) -> int:
        return int(self.get("gid") or 0)

    @property
    def st_uid(self) -> int:
        return int(self.get("uid") or 0)

    @property
    def st_ino(self) -> int:
        return int(self.get("ino") or 0)

    @property
    def st_nlink(self) -> int:
        return int(self.get("nlink") or 0)

    @property
    def st_mtime(self) -> float:
        if "mtime" in self:
            return float(self["mtime"])
        if "LastModified" in self:  # object stores: a datetime
            return float(self["LastModified"].timestamp())
        return 0.0

    @property
    def st_mode(self) -> int:
        if "mode" in self:
            return int(self["mode"])
        if self.get("isLink"):
            return S_IFLNK
        kind = self.get("type", "")
        return S_IFREG if kind == "file" else S_IFDIR if kind == "directory" else 0
