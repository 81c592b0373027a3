"""``ObjectStoragePath`` (``airflow.sdk.io``, ``airflow.io``): the texts, keys and results below
are what real Airflow 3.3.2 (task SDK 1.3.2, universal_pathlib 0.3.11) gave for the same calls.
Local files and fsspec's in-memory store stand in for remote stores (no network here)."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path

import pytest

from airlane.dag_loader import airflow_compat
from airlane.sdk.io import ObjectStoragePath, attach, get_fs, has_fs
from airlane.sdk.io.store import ObjectStore
from airlane.sdk.serde import deserialize, serialize

TUTORIAL = "s3://aws_default@airflow-tutorial-data/"


def test_the_connection_is_the_urls_user() -> None:
    base = ObjectStoragePath(TUTORIAL)
    assert str(base) == TUTORIAL
    assert (base.conn_id, base.protocol, base.bucket, base.key) == (
        "aws_default",
        "s3",
        "airflow-tutorial-data",
        "",
    )
    assert base.path == "airflow-tutorial-data/"
    assert base.namespace == "s3://airflow-tutorial-data"
    assert base.container == "airflow-tutorial-data"


def test_derived_paths_keep_the_connection() -> None:
    path = ObjectStoragePath(TUTORIAL) / "air_quality_20250101.parquet"
    assert str(path) == "s3://aws_default@airflow-tutorial-data/air_quality_20250101.parquet"
    assert (path.conn_id, path.key, path.name, path.suffix) == (
        "aws_default",
        "air_quality_20250101.parquet",
        "air_quality_20250101.parquet",
        ".parquet",
    )
    assert str(path.parent) == TUTORIAL
    joined = ObjectStoragePath(TUTORIAL).joinpath("a", "b")
    assert str(joined) == "s3://aws_default@airflow-tutorial-data/a/b"
    assert joined.conn_id == "aws_default"
    assert repr(path) == (
        "ObjectStoragePath('airflow-tutorial-data/air_quality_20250101.parquet', protocol='s3')"
    )


def test_conn_id_as_an_argument() -> None:
    path = ObjectStoragePath("s3://bucket/a/b.txt", conn_id="c1")
    assert (str(path), path.conn_id, path.key) == ("s3://c1@bucket/a/b.txt", "c1", "a/b.txt")


def test_a_store_without_its_provider_fails_at_use_not_at_parse() -> None:
    path = ObjectStoragePath("s3://aws_default@bucket/key")  # a DAG file's module level
    assert not has_fs("s3")
    with pytest.raises(ValueError, match="No filesystem registered for scheme s3"):
        _ = path.fs


def test_local_files(tmp_path: Path) -> None:
    path = ObjectStoragePath(f"file://{tmp_path}/x/y.txt")
    assert (str(path), path.protocol, path.bucket) == (f"file://{tmp_path}/x/y.txt", "file", "")
    assert (path.key, path.path, path.conn_id) == (
        f"{tmp_path}/x/y.txt"[1:],
        f"{tmp_path}/x/y.txt",
        None,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("hello")
    assert path.read_text() == "hello"
    assert path.exists()
    assert path.is_file()
    assert path.size() == 5
    info = path.stat()
    assert (info["type"], info.st_size, info["protocol"], info["conn_id"]) == (
        "file",
        5,
        "file",
        None,
    )
    assert info.st_mtime > 0
    with path.open("rb") as handle:
        assert handle.read() == b"hello"
    plain = ObjectStoragePath(f"{tmp_path}/x/y.txt")
    assert (str(plain), plain.protocol) == (f"{tmp_path}/x/y.txt", "")
    assert plain.read_text() == "hello"


def test_equality_is_store_and_text(tmp_path: Path) -> None:
    path = ObjectStoragePath(f"file://{tmp_path}/y.txt")
    same = ObjectStoragePath(f"file://{tmp_path}/y.txt")
    assert path == same
    assert hash(path) == hash(same)
    assert path != str(path)
    other_store = ObjectStoragePath(f"file://{tmp_path}/y.txt", conn_id="other")
    assert str(other_store) == f"file://other@{tmp_path}/y.txt"
    assert path != other_store  # (Airflow 3.3.2: neither == nor !=; see ObjectStoragePath.__ne__)
    assert (path == other_store) is False


def test_copy_and_move_on_local_files(tmp_path: Path) -> None:
    source = ObjectStoragePath(f"file://{tmp_path}/x/y.txt")
    source.parent.mkdir(parents=True)
    source.write_text("hello")
    into = ObjectStoragePath(f"file://{tmp_path}/dir2")
    into.mkdir()
    source.copy(into)
    assert sorted(str(p) for p in into.iterdir()) == [f"file://{tmp_path}/dir2/y.txt"]
    source.copy_into(into)
    assert (into / "y.txt").read_text() == "hello"
    source.move(ObjectStoragePath(f"file://{tmp_path}/x/w.txt"))
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["w.txt"]
    found = sorted(str(p) for p in ObjectStoragePath(f"file://{tmp_path}").glob("**/*.txt"))
    assert found == [f"file://{tmp_path}/dir2/y.txt", f"file://{tmp_path}/x/w.txt"]
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        source.parent.joinpath("w.txt").copy_into(f"file://{tmp_path}/x/w.txt")


def test_between_stores_the_file_is_streamed_under_its_key(tmp_path: Path) -> None:
    from fsspec.implementations.memory import MemoryFileSystem

    # a store without a connection is reached through the filesystem attached for its
    # protocol (Airflow's: no provider registers "memory")
    attach("memory", fs=MemoryFileSystem())
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    remote = ObjectStoragePath(f"memory://{bucket}/in/data.csv")
    remote.parent.mkdir(parents=True, exist_ok=True)
    remote.write_bytes(b"a,b\n1,2\n")
    local = ObjectStoragePath(f"file://{tmp_path}/copy.csv")
    remote.copy(local)  # remote -> local: the store's get
    assert local.read_bytes() == b"a,b\n1,2\n"
    back = ObjectStoragePath(f"memory://{bucket}/back/data.csv")
    local.copy(back)  # local -> remote: the store's put
    assert back.read_bytes() == b"a,b\n1,2\n"
    assert back.samefile(ObjectStoragePath(f"memory://{bucket}/back/data.csv"))
    assert not back.samefile(remote)  # (no inodes in memory: compared by path)
    assert local.samefile(ObjectStoragePath(f"file://{tmp_path}/copy.csv"))
    assert not local.samefile(back)
    moved = ObjectStoragePath(f"memory://{bucket}/moved.csv")
    back.move(moved)
    assert moved.read_bytes() == b"a,b\n1,2\n"
    assert not back.exists()


def test_a_store_attached_with_a_connection_reaches_its_files(tmp_path: Path) -> None:
    from fsspec.implementations.local import LocalFileSystem

    store = attach("file", conn_id="local_files", fs=LocalFileSystem())
    assert attach("file", conn_id="local_files") is store
    assert attach(alias="file-local_files") is store
    assert str(store) == "file-local_files"
    path = ObjectStoragePath(f"file://local_files@{tmp_path}/z.txt")
    assert (path.conn_id, str(path)) == ("local_files", f"file://local_files@{tmp_path}/z.txt")
    assert path.fs is store.fs
    path.write_text("via the connection's filesystem")
    assert (tmp_path / "z.txt").read_text() == "via the connection's filesystem"
    with pytest.raises(ValueError, match="No registered store with alias: nothing"):
        attach(alias="nothing")
    assert ObjectStore.deserialize(store.serialize(), 1) is store
    assert isinstance(get_fs("local"), LocalFileSystem)


def test_xcom_round_trip() -> None:
    path = ObjectStoragePath(TUTORIAL) / "air_quality_20250101.parquet"
    data = serialize(path)
    assert data == {
        "__classname__": "airlane.sdk.io.path.ObjectStoragePath",
        "__version__": 1,
        "__data__": {
            "path": "s3://aws_default@airflow-tutorial-data/air_quality_20250101.parquet",
            "conn_id": "aws_default",
            "kwargs": {},
        },
    }
    back = deserialize(data)
    assert back == path
    assert back.conn_id == "aws_default"
    with pytest.raises(ValueError, match="Cannot deserialize version 2 with version 1"):
        ObjectStoragePath.deserialize(dict(data["__data__"]), 2)


def test_airflow_import_paths_and_the_lazy_import() -> None:
    airflow_compat.install()
    sdk = importlib.import_module("airflow.sdk")
    assert "ObjectStoragePath" in sdk.__all__
    assert sdk.ObjectStoragePath is ObjectStoragePath
    for module, name in [
        ("airflow.sdk.io", "ObjectStoragePath"),
        ("airflow.sdk.io.path", "ObjectStoragePath"),
        ("airflow.sdk.io.store", "attach"),
        ("airflow.io.path", "ObjectStoragePath"),
        ("airflow.io.store", "attach"),
        ("airflow.io", "get_fs"),
    ]:
        assert hasattr(importlib.import_module(module), name), module
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = sdk.Nope


def test_airflow_sdk_does_not_load_fsspec_until_asked() -> None:
    code = (
        "import sys; from airlane.dag_loader import airflow_compat; airflow_compat.install(); "
        "import airflow.sdk; assert 'upath' not in sys.modules and 'fsspec' not in sys.modules; "
        "from airflow.sdk import ObjectStoragePath; assert 'upath' in sys.modules"
    )
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
