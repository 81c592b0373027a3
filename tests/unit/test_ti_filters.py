"""The task instance listings' ranges, lists, searches, order and cursor (api/ti_filters.py)
on formatted instances, as Airflow's TaskInstancesBatchBody and its GET listing's query
filter, order and page its rows."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from airlane.api import listing, ti_filters
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


def test_an_order_the_listing_cannot_sort_by_is_airflows_400() -> None:
    with pytest.raises(ApiError) as raised:
        ti_filters.from_body({"order_by": "-pool"})
    assert raised.value.status == 400
    assert raised.value.detail.startswith("Ordering with 'pool' is disallowed")
    with pytest.raises(ApiError) as raised:
        _query("&".join(["order_by=state"] * 11))
    assert raised.value.status == 400


def _query(query: str) -> ti_filters.TIFilter:
    return ti_filters.from_query(make_mocked_request("GET", f"/x?{query}"))


def _query_ids(query: str) -> list[str]:
    return [ti["task_id"] for ti in _query(query).apply(list(TIS))]


def test_the_get_listing_reads_ranges_lists_and_orders_from_its_query() -> None:
    assert _query_ids("start_date_gt=2026-01-02T00:00:00Z") == ["c"]
    assert _query_ids("duration_lt=2.5&duration_gte=1") == ["b", "c"]
    assert _query_ids("pool=small&pool=default_pool&pool=") == ["a", "b", "c", "d"]
    assert _query_ids("pool=small") == ["b"]
    assert _query_ids("map_index=-1&map_index=4") == ["a", "b", "c", "d"]
    assert _query_ids("map_index=4") == []
    assert _query_ids("order_by=state&order_by=-duration") == ["d", "a", "c", "b"]
    # updated_at: the latest time the instance has
    assert _query_ids("updated_at_gte=2026-01-02T00:00:00Z") == ["b", "c"]
    assert not _query("").active


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("map_index=first", "map_index"),
        ("try_number=1.5", "try_number"),
        ("duration_gte=long", "duration_gte"),
        ("updated_at_lt=tuesday", "updated_at_lt"),
    ],
)
def test_bad_query_values_are_422s_naming_the_parameter(query: str, name: str) -> None:
    with pytest.raises(ApiError) as raised:
        _query(query)
    assert raised.value.status == 422
    assert raised.value.detail[0]["loc"] == ["query", name]


def test_searches_are_sql_ilike_and_case_sensitive_prefixes() -> None:
    like = listing.ilike
    assert like("EXTRACT")("run_extract_all")
    assert not like("EXTRACT")(None)
    assert like("ex%all")("run_extract_all")
    assert not like("ex%run")("run_extract_all")
    assert like("t_sk")("task")
    assert not like("t_sk")("tsk")
    assert like("load|extr")("extract")
    assert like(" load | x ")("load")
    assert like("~")("anything")
    assert like("[a]")("x[a]y")
    assert not like("[a]")("a")
    assert like("a.c")("a.c")
    assert not like("a.c")("abc")
    prefix = listing.starts_with
    assert prefix("extract_")("extract")
    assert prefix("extract_")("extractor")
    assert not prefix("Extract")("extract")
    assert prefix("load|ext")("extract")
    assert prefix("~")("x")
    assert not prefix("~")(None)


def test_task_groups_hold_their_nested_groups_tasks() -> None:
    dag = {
        "task_groups": [
            {"group_id": "outer", "parent": None},
            {"group_id": "outer.inner", "parent": "outer"},
        ],
        "tasks": [
            {"task_id": "outer.a", "task_group": "outer"},
            {"task_id": "outer.inner.b", "task_group": "outer.inner"},
            {"task_id": "c", "task_group": None},
        ],
    }
    assert ti_filters.group_tasks(dag, "outer") == {"outer.a", "outer.inner.b"}
    assert ti_filters.group_tasks(dag, "outer.inner") == {"outer.inner.b"}
    assert ti_filters.group_tasks(dag, "nope") is None


def _mapped(n: int) -> list[dict[str, Any]]:
    return [
        {"dag_id": "d", "dag_run_id": "r", "task_id": "t", "map_index": i, "state": s}
        for i, s in zip(range(n), ["success", None, "failed"] * n, strict=False)
    ]


@pytest.mark.parametrize("order", [(), (("state", False),), (("map_index", True),)])
def test_cursor_pages_walk_forward_and_back_in_the_offset_order(
    order: ti_filters.Order,
) -> None:
    shapes = _mapped(7)
    whole = [ti["map_index"] for ti in ti_filters.cursor_page(list(shapes), order, "", 100).items]
    assert sorted(whole) == list(range(7))
    pages, cursors, cursor = [], [], ""
    while cursor is not None:
        page = ti_filters.cursor_page(list(shapes), order, cursor, 3)
        assert (page.previous_cursor is None) == (not pages)
        pages.append([ti["map_index"] for ti in page.items])
        cursors.append(page.previous_cursor)
        cursor = page.next_cursor
    assert [i for p in pages for i in p] == whole
    assert [len(p) for p in pages] == [3, 3, 1]
    back = ti_filters.cursor_page(list(shapes), order, str(cursors[2]), 3)
    assert [ti["map_index"] for ti in back.items] == pages[1]
    assert back.next_cursor is not None
    assert back.previous_cursor is not None
    first = ti_filters.cursor_page(list(shapes), order, str(back.previous_cursor), 3)
    assert [ti["map_index"] for ti in first.items] == pages[0]
    assert first.previous_cursor is None


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("%%%", "Invalid cursor token"),
        ("e30", "Invalid cursor token structure"),  # {}
        ("WzFd", "Cursor token does not match current query shape"),  # [1]
    ],
)
def test_a_cursor_not_of_the_listing_is_a_400(cursor: str, message: str) -> None:
    with pytest.raises(ApiError) as raised:
        ti_filters.cursor_page(_mapped(2), (), cursor, 10)
    assert (raised.value.status, raised.value.detail) == (400, message)
