"""Pure parts of the bulk body (api/bulk.py) and of the DAG facts (api/dag_meta.py): parsing
actions as Airflow's models do, the non-existent-pool warning in Airflow's words, ordering."""

from __future__ import annotations

from typing import Any

import pytest

from airlane.api.bulk import BulkResource, parse_action
from airlane.api.dag_meta import pool_warning, sort_rows
from airlane.api.errors import ApiError, invalid


def _parse(data: dict[str, Any]) -> dict[str, Any]:
    if "key" not in data:
        raise invalid("body", "key", "Field required")
    return data


async def _never(*_: Any) -> Any:
    raise AssertionError("not called when parsing")


RESOURCE = BulkResource("things", "key", _parse, _never, _never, _never)


def test_actions_take_airflows_defaults_and_names() -> None:
    create = parse_action(RESOURCE, {"action": "create", "entities": [{"key": "a"}]}, "actions.0")
    assert (create.kind, create.keys, create.policy, create.update_mask) == (
        "create",
        ["a"],
        "fail",
        None,
    )
    body = {"action": "update", "entities": [{"key": "b"}], "update_mask": ["value"]}
    update = parse_action(RESOURCE, body, "actions.0")
    assert (update.policy, update.update_mask) == ("fail", ["value"])
    body = {"action": "delete", "entities": ["c", {"key": "d"}], "action_on_non_existence": "skip"}
    delete = parse_action(RESOURCE, body, "actions.0")
    assert (delete.keys, delete.policy) == (["c", "d"], "skip")


@pytest.mark.parametrize(
    "data",
    [
        {"action": "upsert", "entities": []},
        {"action": "create", "entities": {}},
        {"action": "create", "entities": [{"nokey": 1}]},
        {"action": "create", "entities": [], "action_on_existence": "replace"},
        {"action": "delete", "entities": [], "action_on_existence": "skip"},
        {"action": "delete", "entities": [{"nokey": 1}]},
        {"action": "update", "entities": [], "update_mask": "value"},
    ],
)
def test_bad_actions_are_a_422(data: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as caught:
        parse_action(RESOURCE, data, "actions.0")
    assert caught.value.status == 422


def test_the_pool_warning_names_the_missing_pools_as_airflow() -> None:
    dag = {
        "dag_id": "d",
        "parsed_at": 0,
        "tasks": [{"pool": "b"}, {"pool": "a"}, {"pool": "kept"}, {"pool": None}],
    }
    warning = pool_warning(dag, {"default_pool", "kept"})
    assert warning is not None
    assert warning["message"] == "Dag 'd' references non-existent pools: ['a', 'b']"
    assert warning["warning_type"] == "non-existent pool"
    assert pool_warning({"dag_id": "d", "tasks": [{"pool": "kept"}]}, {"kept"}) is None


def test_rows_sort_by_several_fields_nulls_last() -> None:
    rows = [{"a": 2, "b": None}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}]
    sort_rows(rows, ["-a", "b"], ("a", "b"))
    assert rows == [{"a": 2, "b": "x"}, {"a": 2, "b": None}, {"a": 1, "b": "y"}]
    with pytest.raises(ApiError):
        sort_rows(rows, ["c"], ("a", "b"))
