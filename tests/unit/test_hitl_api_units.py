"""The pure parts of the hitlDetails API: Airflow's shapes, who may answer, a run's keys."""

from __future__ import annotations

from airlane.api.hitl_shapes import can_respond, detail_shape, like, response_shape
from airlane.queue.keys import Keys
from airlane.sdk.hitl_detail import HITLDetail, HITLRequest, HITLResponse
from airlane.service.retention import run_keys

REQUEST = HITLRequest(
    options=("Approve", "Reject"),
    subject="OK?",
    try_number=2,
    created_at_s=0.0,
    params={"bare": 3, "full": {"value": "x", "description": "d", "schema": {}}},
    assigned_users=({"id": "alice", "name": "Alice"},),
)


def test_detail_shape_is_airflows_with_params_as_param_dicts() -> None:
    shape = detail_shape(HITLDetail(REQUEST), {"task_id": "t"})
    assert shape["params"]["bare"] == {"value": 3, "description": None, "schema": {}}
    assert shape["params"]["full"]["description"] == "d"
    assert shape["created_at"] == "1970-01-01T00:00:00Z"
    assert (shape["response_received"], shape["chosen_options"], shape["params_input"]) == (
        False,
        None,
        {},
    )
    answer = HITLResponse(("Reject",), {}, 60.0, 2, None)
    answered = detail_shape(HITLDetail(REQUEST, answer), {})
    assert answered["response_received"] is True
    assert answered["responded_by_user"] is None  # the defaults after the timeout
    assert response_shape(answer)["chosen_options"] == ["Reject"]


def test_only_assigned_users_answer_and_anyone_when_none_is_assigned() -> None:
    assert can_respond(REQUEST, "alice")
    assert not can_respond(REQUEST, "bob")
    assert can_respond(HITLRequest(("a",), "?", 1, 0.0), "bob")
    assert can_respond(REQUEST, None)  # no authentication: everyone is an admin


def test_search_patterns_are_sql_like() -> None:
    assert like("ship%", "Ship it")
    assert like("i_it", "ship it") is False
    assert like(None, None)
    assert not like("x", None)


def test_a_runs_keys_include_its_hitl_details() -> None:
    keys = Keys("p:")
    found = run_keys(keys, "d", "r", {}, [])
    assert {keys.hitl("d", "r"), keys.hitl_responses("d", "r")} <= set(found)
