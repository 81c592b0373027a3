"""Connections from the environment and from an installed store; BaseHook; the airflow.* paths."""

from __future__ import annotations

import asyncio
import logging

import pytest

from airlane.dag_loader import airflow_compat
from airlane.sdk.connection import Connection
from airlane.sdk.connection_store import use_connection_store
from airlane.sdk.exceptions import AirflowNotFoundException
from airlane.sdk.hooks.base import BaseHook
from airlane.sdk.provider_hooks import HookInfo, find_hook, set_hook_lookup


class _DictStore:
    def __init__(self, *conns: Connection) -> None:
        self.conns = {conn.conn_id: conn for conn in conns}

    def get_connection(self, conn_id: str) -> Connection | None:
        return self.conns.get(conn_id)


def test_env_uri_and_json_and_airlane_prefix_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MY_DB", "postgres://u:pw12345@db:5432/app")
    monkeypatch.setenv("AIRFLOW_CONN_MY_API", ' {"conn_type": "http", "host": "api.local"}')
    assert BaseHook.get_connection("my_db").host == "db"
    assert BaseHook.get_connection("my_api").conn_type == "http"
    monkeypatch.setenv("AIRLANE_CONN_MY_DB", "mysql://other")
    assert BaseHook.get_connection("my_db").conn_type == "mysql"


def test_env_goes_before_the_store_and_missing_ids_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = Connection(conn_id="shared", conn_type="stored")
    only = Connection(conn_id="only_store", conn_type="stored")
    monkeypatch.setenv("AIRFLOW_CONN_SHARED", "env://h")
    with use_connection_store(_DictStore(stored, only)):
        assert BaseHook.get_connection("shared").conn_type == "env"
        assert BaseHook.get_connection("only_store") is only
        assert asyncio.run(BaseHook.aget_connection("only_store")) is only
        with pytest.raises(AirflowNotFoundException, match="`nope` isn't defined"):
            BaseHook.get_connection("nope")
    with pytest.raises(AirflowNotFoundException):
        BaseHook.get_connection("only_store")


class _MyHook(BaseHook):
    conn_name_attr = "my_conn_id"

    def __init__(self, my_conn_id: str, flavour: str = "plain") -> None:
        super().__init__()
        self.my_conn_id = my_conn_id
        self.flavour = flavour


def test_get_hook_goes_through_the_registry_hook_point(monkeypatch: pytest.MonkeyPatch) -> None:
    info = HookInfo(f"{__name__}._MyHook", "my_conn_id", "pkg", "My", "mine")
    monkeypatch.setenv("AIRFLOW_CONN_H1", "mine://host")
    set_hook_lookup(lambda conn_type: info if conn_type == "mine" else None)
    try:
        hook = BaseHook.get_hook("h1", hook_params={"flavour": "spicy"})
        assert isinstance(hook, _MyHook)
        assert (hook.my_conn_id, hook.flavour) == ("h1", "spicy")
        with pytest.raises(Exception, match='Unknown hook type "other"'):
            Connection(conn_id="x", conn_type="other").get_hook()
    finally:
        from airlane.sdk.provider_hooks import entry_point_hook_lookup

        set_hook_lookup(entry_point_hook_lookup)
    assert find_hook("no-such-type-anywhere") is None


def test_hook_log_is_airflows_logger_name() -> None:
    hook = _MyHook("x")
    assert isinstance(hook.log, logging.Logger)
    assert hook.log.name == f"airflow.task.hooks.{__name__}._MyHook"
    with pytest.raises(NotImplementedError):
        hook.get_conn()


def test_airflow_import_paths_give_the_same_classes() -> None:
    airflow_compat.install()
    from airflow.hooks.base import BaseHook as H1
    from airflow.models.connection import Connection as C1
    from airflow.sdk import BaseHook as H2
    from airflow.sdk import Connection as C2
    from airflow.sdk.bases.hook import BaseHook as H3
    from airflow.sdk.definitions.connection import Connection as C3
    from airflow.sdk.log import mask_secret

    assert H1 is H2 is H3 is BaseHook
    assert C1 is C2 is C3 is Connection
    assert callable(mask_secret)


class _TestableHook(BaseHook):
    conn_name_attr = "conn_id"

    def __init__(self, conn_id: str) -> None:
        super().__init__()
        self.conn = self.get_connection(conn_id)  # as hooks do: looked up by id at once

    def test_connection(self) -> tuple[bool, str]:
        return True, f"reached {self.conn.host}"


def test_connection_test_runs_the_hook_with_the_connection_exposed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airlane.api.connections import run_test, testing_enabled

    assert not testing_enabled()
    monkeypatch.setenv("AIRLANE_TEST_CONNECTION", "Enabled")
    assert testing_enabled()
    info = HookInfo(f"{__name__}._TestableHook", "conn_id", "pkg", "T", "testable")
    set_hook_lookup(lambda conn_type: info if conn_type == "testable" else None)
    try:
        conn = Connection(conn_id="transient_1", conn_type="testable", host="there")
        assert run_test(conn) == (True, "reached there")
        unknown = Connection(conn_id="transient_2", conn_type="nothing")
        assert run_test(unknown) == (False, 'Unknown hook type "nothing"')
    finally:
        from airlane.sdk.provider_hooks import entry_point_hook_lookup

        set_hook_lookup(entry_point_hook_lookup)
    with pytest.raises(AirflowNotFoundException):
        BaseHook.get_connection("transient_1")  # the variable is gone after the test


def test_airflow_2_accessors() -> None:
    conn = Connection(conn_id="a2", conn_type="x")
    conn.set_password("pw-abcdef")
    conn.set_extra('{"k": 1}')
    assert (conn.get_password(), conn.get_extra()) == ("pw-abcdef", '{"k": 1}')
    with pytest.raises(ValueError, match="non-JSON"):
        conn.set_extra("nope")
    assert conn.log.name == "airflow.models.connection.Connection"
