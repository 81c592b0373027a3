"""The DAG and run listings' filters (api/dag_filters.py, api/run_filters.py) and the list
helpers they share (api/listing.py), on formatted shapes, as Airflow 3.3's lists filter."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from airlane.api import dag_filters, listing, run_filters
from airlane.api.errors import ApiError


def _request(query: str) -> Any:
    return make_mocked_request("GET", f"/x?{query}")


@pytest.mark.parametrize(
    ("schedule", "default", "expected"),
    [
        ({"kind": "none"}, False, "NullTimetable"),
        ({"kind": "cron", "expression": "0 * * * *"}, False, "CronTriggerTimetable"),
        ({"kind": "cron", "expression": "0 * * * *"}, True, "CronDataIntervalTimetable"),
        (
            {"kind": "cron", "expression": "0 * * * *", "data_intervals": False},
            True,
            "CronTriggerTimetable",
        ),
        ({"kind": "preset", "expression": "@daily"}, False, "CronTriggerTimetable"),
        ({"kind": "preset", "expression": "@once"}, True, "OnceTimetable"),
        ({"kind": "preset", "expression": "@continuous"}, False, "ContinuousTimetable"),
        ({"kind": "timedelta", "seconds": 60}, True, "DeltaDataIntervalTimetable"),
        ({"kind": "assets"}, False, "AssetTriggeredTimetable"),
        ({"kind": "asset_or_time"}, False, "AssetOrTimeSchedule"),
        ({"kind": "custom", "class": "plugins.Weekdays"}, False, "plugins.Weekdays"),
    ],
)
def test_timetable_types_are_airflows_class_names(
    schedule: dict[str, Any], default: bool, expected: str
) -> None:
    assert dag_filters.timetable_type({"schedule": schedule}, default) == expected


def _dag_shape(dag_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "dag_id": dag_id,
        "dag_display_name": dag_id.title(),
        "owners": ["data-team"],
        "is_stale": False,
        "has_import_errors": False,
        **extra,
    }


def test_the_dag_filter_reads_owners_staleness_assets_and_the_latest_run() -> None:
    keeps = dag_filters.from_query(_request("owners=TEAM&exclude_stale=false")).keeps
    assert keeps(_dag_shape("a", is_stale=True), {}, None)
    assert not dag_filters.from_query(_request("")).keeps(_dag_shape("a", is_stale=True), {}, None)
    assert not dag_filters.from_query(_request("owners=ops")).keeps(_dag_shape("a"), {}, None)
    orders = {"schedule": {"kind": "assets", "assets": [{"name": "orders", "uri": "s3://b/o"}]}}
    by_asset = dag_filters.from_query(_request("asset_dependency=S3://B"))
    assert by_asset.keeps(_dag_shape("a"), orders, None)
    assert not by_asset.keeps(_dag_shape("a"), {}, None)
    by_run = dag_filters.from_query(_request("last_dag_run_state=failed"))
    assert by_run.needs_runs
    assert by_run.keeps(_dag_shape("a"), {}, {"state": "failed"})
    assert not by_run.keeps(_dag_shape("a"), {}, None)  # (no latest run: no match)
    with pytest.raises(ApiError) as raised:
        dag_filters.from_query(_request("dag_run_state=done"))
    assert raised.value.detail[0]["loc"] == ["query", "dag_run_state"]


def _run(run_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "dag_id": "d",
        "dag_run_id": run_id,
        "state": "success",
        "run_type": "manual",
        "conf": {},
        "dag_versions": [{"version_number": 1}],
        "queued_at": "2026-01-01T00:00:00+00:00",
        "start_date": None,
        "end_date": None,
        **extra,
    }


def test_the_run_filter_reads_conf_versions_and_updated_at() -> None:
    conf = run_filters.from_query(_request("conf_contains=%22size%22%3A%202"))
    assert conf.keeps(_run("a", conf={"size": 22}))
    assert not conf.keeps(_run("a", conf={"size": 3}))
    assert run_filters.from_query(_request("dag_version=1")).keeps(_run("a"))
    assert not run_filters.from_query(_request("dag_version=2")).keeps(_run("a"))
    later = run_filters.from_query(_request("updated_at_gt=2026-01-01T00:00:00Z"))
    assert not later.keeps(_run("a"))
    assert later.keeps(_run("a", end_date="2026-01-02T00:00:00+00:00"))
    assert not run_filters.from_query(_request("bundle_version=v")).keeps(_run("a"))
    assert not run_filters.from_query(_request("")).narrows
    with pytest.raises(ApiError) as raised:
        run_filters.from_query(_request("partition_date_gte=soon"))
    assert raised.value.detail[0]["loc"] == ["query", "partition_date_gte"]


def test_order_by_takes_at_most_ten_known_fields() -> None:
    assert listing.order_pairs(["-a", "b"], ("a", "b")) == (("a", True), ("b", False))
    assert listing.order_pairs(["", "a"], ("a",)) == (("a", False),)
    for raws in (["c"], ["a"] * 11):
        with pytest.raises(ApiError) as raised:
            listing.order_pairs(raws, ("a", "b"))
        assert raised.value.status == 400


def test_a_batch_state_of_null_matches_no_run() -> None:
    assert not run_filters.from_body({"states": [None]}).keeps(_run("a"))
    assert run_filters.from_body({"states": [None, "success"]}).keeps(_run("a"))
    assert run_filters.from_body({"states": []}).keeps(_run("a"))
