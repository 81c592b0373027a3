"""The batch listing's ranges, lists and order (api/ti_filters.py) on formatted instances, as
Airflow's TaskInstancesBatchBody filters its rows."""

from __future__ import annotations

from typing import Any

import pytest

from airlane.api import ti_filters
from airlane.api.errors import ApiError


def _ti(task_id: str, start: str | None, duration: float | None, pool: str) -> dict[str, Any]:
    return {
        "id": task_id,
        "task_id": task_id,
        "state": "success" if start else None,
        "start_date": start,
        "end_date": start,
        "duration": duration,
        "pool": pool,
        "queue": "default",
        "executor": None,
        "map_index": -1,
    }


TIS = [
    _ti("a", "2026-01-01T00:00:00Z", 3.0, "default_pool"),
    _ti("b", "2026-01-02T00:00:00Z", 1.0, "small"),
    _ti("c", "2026-01-03T00:00:00+00:00", 2.0, "default_pool"),
    _ti("d", None, None, "default_pool"),  # not started: no range matches it
]


def _ids(body: dict[str, Any]) -> list[str]:
    return [ti["task_id"] for ti in ti_filters.from_body(body).apply(list(TIS))]


def test_ranges_bound_dates_and_durations_with_each_comparison() -> None:
    assert _ids({"start_date_gte": "2026-01-02T00:00:00Z"}) == ["b", "c"]
    assert _ids({"start_date_gt": "2026-01-02T00:00:00Z"}) == ["c"]
    assert _ids({"start_date_lt": "2026-01-02T00:00:00Z"}) == ["a"]
    assert _ids({"end_date_lte": "2026-01-02T00:00:00Z"}) == ["a", "b"]
    assert _ids({"duration_gte": 2, "duration_lt": 3}) == ["c"]


def test_lists_and_order() -> None:
    assert _ids({"pool": ["small"]}) == ["b"]
    assert _ids({"executor": ["celery"]}) == []
    assert len(_ids({"pool": []})) == len(TIS)  # (an empty list filters nothing, as Airflow)
    assert _ids({"order_by": "-duration"}) == ["a", "c", "b", "d"]
    assert _ids({"order_by": "duration"}) == ["d", "b", "c", "a"]  # none first ascending
    assert not ti_filters.from_body({"dag_ids": ["x"]}).active


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order_by": "-pool"}, "order_by"),
        ({"duration_gt": "long"}, "duration_gt"),
        ({"start_date_lte": "tuesday"}, "start_date_lte"),
        ({"queue": "default"}, "queue"),
    ],
)
def test_bad_values_are_422s_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as raised:
        ti_filters.from_body(body)
    assert raised.value.status == 422
    assert raised.value.detail[0]["loc"] == ["body", field]
