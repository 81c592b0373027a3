"""A bulk body's action checked before its entities (api/bulk.raw_action), without Redis."""

from __future__ import annotations

import pytest

from airlane.api.bulk import raw_action
from airlane.api.errors import ApiError
from airlane.api.run_filters import from_body


@pytest.mark.parametrize(
    "data",
    [{"action": ["update"], "entities": []}, {"action": "merge"}, [], None],
)
def test_an_action_that_is_not_one_is_a_422(data: object) -> None:
    with pytest.raises(ApiError) as raised:
        raw_action(data, "actions.0")
    assert raised.value.status == 422


def test_an_action_names_its_policy_and_mask() -> None:
    checked = raw_action(
        {"action": "update", "entities": [{}], "update_mask": ["note"]}, "actions.0"
    )
    assert (checked.kind, checked.policy, checked.update_mask) == ("update", "fail", ["note"])


def test_a_run_state_that_is_not_text_is_a_422() -> None:
    with pytest.raises(ApiError) as raised:
        from_body({"states": [["running"]]})
    assert raised.value.status == 422
