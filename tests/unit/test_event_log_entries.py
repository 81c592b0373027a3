"""What the event log keeps of a request (api/event_logs.entry_of), without Redis."""

from __future__ import annotations

import orjson

from airlane.api.event_logs import entry_of


def test_ids_come_from_the_path_and_body_and_stay_out_of_extra() -> None:
    entry = entry_of(
        "patch_task_instance",
        "alice",
        "PATCH",
        {"update_mask": "new_state"},
        {"dag_id": "d", "dag_run_id": "r", "task_id": "t"},
        {"new_state": "failed"},
    )
    assert (entry["dag_id"], entry["run_id"], entry["task_id"]) == ("d", "r", "t")
    assert orjson.loads(entry["extra"]) == {
        "update_mask": "new_state",
        "new_state": "failed",
        "method": "PATCH",
    }


def test_secrets_are_masked_by_name_and_variables_and_connections_always() -> None:
    conn = {"connection_id": "c", "password": "pw", "extra": '{"token": "t", "region": "x"}'}
    extra = orjson.loads(entry_of("post_connection", "a", "POST", {}, {}, conn)["extra"])
    assert extra["password"] == "***"
    assert extra["extra"] == {"token": "***", "region": "***"}
    var = {"actions": [{"action": "create", "entities": [{"key": "k", "value": "v"}]}]}
    extra = orjson.loads(entry_of("bulk_variables", "a", "PATCH", {}, {}, var)["extra"])
    assert extra["actions"][0]["entities"] == [{"key": "k", "value": "***"}]
    other = orjson.loads(entry_of("post_pool", "a", "POST", {}, {}, {"api_key": "z"})["extra"])
    assert other["api_key"] == "***"


def test_a_wildcard_names_no_dag() -> None:
    entry = entry_of("clear_dag_runs", "a", "POST", {}, {"dag_id": "~"}, {"dry_run": False})
    assert entry["dag_id"] is None


def test_a_malformed_bulk_body_is_logged_as_it_came() -> None:
    body = {"actions": [{"action": "create", "entities": 5}]}
    extra = orjson.loads(entry_of("bulk_variables", "a", "PATCH", {}, {}, body)["extra"])
    assert extra["actions"] == [{"action": "create", "entities": 5}]


def test_entry_ids_tell_streams_and_busy_milliseconds_apart() -> None:
    from airlane.api.event_logs import _entry_id, _stream_id

    ids = {_entry_id(sid, source) for sid in ("5-1000", "6-0") for source in (0, 1)}
    assert len(ids) == 4
    for sid, source in (("1733600000000-1234", 1), ("1733600000000-0", 0)):
        assert _stream_id(_entry_id(sid, source)) == (sid, source)
        assert _entry_id(sid, source) < 2**63
