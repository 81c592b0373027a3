"""Pure parts of the API: users, tokens, exposure, SSE payloads and filters, the document."""

from __future__ import annotations

import time

import pytest

from airlane.api.app import ApiRefused, ApiSettings, check_exposure
from airlane.api.auth import AuthConfig, Role, User, is_loopback, parse_users
from airlane.api.errors import ApiError
from airlane.api.events import event_payload, sse, wanted
from airlane.api.openapi import PATHS, SCHEMAS, document, documented_methods
from airlane.api.revocation import Revocations
from airlane.api.validation import body_error

SECRET = "0123456789abcdef0123456789abcdef"


def test_users_parse_from_the_short_form_and_json() -> None:
    assert parse_users("ann:pw:admin, bob:p:w:s:viewer") == [
        User("ann", "pw", Role.ADMIN),
        User("bob", "p:w:s", Role.VIEWER),
    ]
    assert parse_users('[{"username": "c", "password": "x", "role": "op"}]') == [
        User("c", "x", Role.OP)
    ]
    with pytest.raises(ValueError, match="name:password:role"):
        parse_users("justaname")


def test_tokens_round_trip_and_expire() -> None:
    config = AuthConfig((User("ann", "pw", Role.OP),), SECRET, token_ttl_s=60)
    assert config.authenticate("ann", "pw") == User("ann", "pw", Role.OP)
    assert config.authenticate("ann", "nope") is None
    assert config.verify(config.issue(User("ann", "pw", Role.OP))) == ("ann", Role.OP)
    old = config.issue(User("ann", "pw", Role.OP), now_s=time.time() - 120)
    with pytest.raises(ApiError) as err:
        config.verify(old)
    assert (err.value.status, err.value.detail) == (401, "Token has expired")
    other = AuthConfig((), "another-secret-of-thirty-two-bytes!!")
    with pytest.raises(ApiError, match="Invalid token"):
        other.verify(config.issue(User("ann", "pw", Role.OP)))


def test_a_token_acts_as_its_user_now_and_carries_an_id_and_a_generation() -> None:
    before = AuthConfig((User("ann", "pw", Role.ADMIN), User("bo", "x", Role.OP)), SECRET)
    token = before.issue(User("ann", "pw", Role.ADMIN), generation=3)
    claims = before.decode(token)
    assert (claims.username, claims.generation, len(claims.token_id)) == ("ann", 3, 32)
    after = AuthConfig((User("ann", "pw", Role.VIEWER),), SECRET)
    assert after.verify(token) == ("ann", Role.VIEWER)
    with pytest.raises(ApiError, match="Invalid token"):
        after.verify(before.issue(User("bo", "x", Role.OP)))


def test_revocations_refuse_a_revoked_id_or_an_older_generation() -> None:
    config = AuthConfig((User("ann", "pw", Role.ADMIN),), SECRET)
    claims = config.decode(config.issue(User("ann", "pw", Role.ADMIN), generation=1))
    assert not Revocations().refuses(claims)
    assert Revocations(revoked_ids=frozenset({claims.token_id})).refuses(claims)
    assert not Revocations(generations={"ann": 1}).refuses(claims)
    assert Revocations(generations={"ann": 2}).refuses(claims)
    assert not Revocations(generations={"other": 5}).refuses(claims)


def test_no_users_means_loopback_only() -> None:
    nobody = AuthConfig((), SECRET)
    check_exposure(ApiSettings("redis://x", host="127.0.0.1"), nobody)
    with pytest.raises(ApiRefused, match="AIRLANE_API_USERS"):
        check_exposure(ApiSettings("redis://x", host="0.0.0.0"), nobody)
    check_exposure(
        ApiSettings("redis://x", host="0.0.0.0"), AuthConfig((User("a", "b", Role.ADMIN),), SECRET)
    )
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("10.0.0.1")


def test_event_payloads_and_filters() -> None:
    data = event_payload(
        "1700000000123-0",
        {
            "kind": "ti",
            "run": "etl|r1",
            "ti": "load|-1",
            "state": "running",
            "try_number": "2",
            "worker": "w1",
        },
    )
    assert data == {
        "kind": "ti",
        "at": "2023-11-14T22:13:20.123000Z",
        "dag_id": "etl",
        "run_id": "r1",
        "task_id": "load",
        "map_index": -1,
        "state": "running",
        "worker": "w1",
        "try_number": 2,
    }
    assert wanted(data, "etl", None)
    assert wanted(data, "etl", "r1")
    assert not wanted(data, "other", None)
    assert not wanted(data, None, "r2")
    assert wanted({"kind": "import_errors"}, "etl", None)
    assert sse("1-0", "ti", {"a": 1}) == b'id: 1-0\nevent: ti\ndata: {"a":1}\n\n'


def test_the_document_refers_only_to_schemas_it_defines() -> None:
    text = str(document("1"))
    refs = {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}
    assert refs <= set(SCHEMAS)
    assert len(PATHS) >= 25


def test_bodies_are_checked_against_the_document() -> None:
    assert body_error("PoolBody", {"name": "p", "slots": 2.0, "team_name": None}) is None
    cases = [
        ({"name": "p", "slots": 1, "include_deferred": {}}, ["body", "include_deferred"]),
        ({"name": "p"}, ["body", "slots"]),
        ({"name": "p", "slots": 1, "colour": "red"}, ["body", "colour"]),
    ]
    for body, loc in cases:
        error = body_error("PoolBody", body)
        assert error is not None
        assert error.status == 422
        assert error.detail[0]["loc"] == loc, body
    dated = body_error("ClearTaskInstancesBody", {"end_date": "AAA"})
    assert dated is not None
    assert dated.detail[0]["loc"] == ["body", "end_date"]
    assert body_error("ClearTaskInstancesBody", {"end_date": "2024-01-01T00:00Z"}) is None
    assert body_error("ClearTaskInstancesBody", {"task_ids": ["a", ["b", 2]]}) is None


def test_a_405_lists_the_methods_of_the_documented_resource() -> None:
    runs = "/api/v2/dags/d/dagRuns/r/taskInstances"
    assert documented_methods(runs + "/list") == {"POST"}
    assert documented_methods(runs + "/a_task") == {"DELETE", "GET", "HEAD", "PATCH"}
    assert documented_methods("/api/v2/backfills/dry_run") == {"POST"}
    assert documented_methods("/nowhere") is None
