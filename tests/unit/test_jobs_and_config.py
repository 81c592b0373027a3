"""Service processes as Airflow's jobs, and the effective settings as Airflow's config: the
records, the list's filters and order, the mapping and its redaction."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from airlane.api import config as config_api
from airlane.api.app import ApiSettings
from airlane.api.auth import AuthConfig
from airlane.api.errors import ApiError
from airlane.api.jobs import _sorted, job_filter, job_response
from airlane.api.trigger_shapes import numeric_id
from airlane.cli.config_view import config_view
from airlane.config import Settings
from airlane.queue.jobs import JobRecord, JobType, decode, job_id_of

NOW_S = 1_800_000_000.0


def record(job_type: JobType, beat_age_s: float, host: str = "h1") -> JobRecord:
    identity = f"{host}-{job_type.value}"
    return JobRecord(
        job_id=job_id_of(identity),
        identity=identity,
        job_type=job_type,
        hostname=host,
        unixname="airlane",
        pid=42,
        start_s=NOW_S - 100,
        heartbeat_s=NOW_S - beat_age_s,
    )


def test_a_job_is_alive_within_its_types_threshold_as_airflows() -> None:
    # schedulers and triggerers: 30 s (Airflow's health check thresholds); others 2.1 beats
    assert record(JobType.SCHEDULER, 29).is_alive(NOW_S)
    assert not record(JobType.SCHEDULER, 31).is_alive(NOW_S)
    assert record(JobType.TRIGGERER, 29).is_alive(NOW_S)
    assert record(JobType.WORKER, 10).is_alive(NOW_S)
    assert not record(JobType.WORKER, 11).is_alive(NOW_S)
    assert not record(JobType.DAG_PROCESSOR, 11).is_alive(NOW_S)


def test_records_round_trip_and_unreadable_ones_are_skipped() -> None:
    one = record(JobType.TRIGGERER, 1)
    assert decode(one.encode()) == one
    assert decode("not json") is None
    assert decode(orjson.dumps({"job_id": 1}).decode()) is None


def test_a_triggerers_job_id_is_the_one_task_instances_name() -> None:
    assert job_id_of("host-1-abc") == numeric_id("host-1-abc")


def test_the_response_is_airflows_job_with_a_dead_one_failed() -> None:
    live = job_response(record(JobType.SCHEDULER, 1), NOW_S)
    assert live["state"] == "running"
    assert live["is_alive"] is True
    assert live["job_type"] == "SchedulerJob"
    assert live["end_date"] is None
    assert live["executor_class"] is None
    dead = job_response(record(JobType.WORKER, 60), NOW_S)
    assert (dead["state"], dead["is_alive"]) == ("failed", False)


def _request(query: str) -> web.Request:
    return make_mocked_request("GET", f"/api/v2/jobs?{query}")


def _jobs() -> list[dict[str, Any]]:
    return [
        job_response(record(JobType.SCHEDULER, 1, "h1"), NOW_S),
        job_response(record(JobType.WORKER, 60, "h2"), NOW_S),
        job_response(record(JobType.TRIGGERER, 1, "h2"), NOW_S),
    ]


@pytest.mark.parametrize(
    ("query", "types"),
    [
        ("", ["SchedulerJob", "WorkerJob", "TriggererJob"]),
        ("job_type=WorkerJob", ["WorkerJob"]),
        ("hostname=h2", ["WorkerJob", "TriggererJob"]),
        ("is_alive=true", ["SchedulerJob", "TriggererJob"]),
        ("is_alive=false", ["WorkerJob"]),
        ("job_state=failed", ["WorkerJob"]),
        ("executor_class=LocalExecutor", []),
        ("start_date_gte=2020-01-01T00:00:00Z", ["SchedulerJob", "WorkerJob", "TriggererJob"]),
        ("start_date_lt=2020-01-01T00:00:00Z", []),
        ("end_date_lte=2100-01-01T00:00:00Z", []),  # a running job has no end
    ],
)
def test_the_filters_airflowctl_and_airflow_send(query: str, types: list[str]) -> None:
    keep = job_filter(_request(query))
    assert [job["job_type"] for job in _jobs() if keep(job)] == types


def test_bad_filters_are_refused() -> None:
    with pytest.raises(ApiError):
        job_filter(_request("is_alive=maybe"))
    with pytest.raises(ApiError):
        job_filter(_request("start_date_gte=yesterday"))
    with pytest.raises(ApiError):
        _sorted(_request("order_by=pid"), _jobs())


def test_the_order_by_any_field_either_way() -> None:
    by_type = _sorted(_request("order_by=job_type"), _jobs())
    assert [j["job_type"] for j in by_type] == ["SchedulerJob", "TriggererJob", "WorkerJob"]
    by_host = _sorted(_request("order_by=-hostname"), _jobs())
    assert [j["hostname"] for j in by_host] == ["h2", "h2", "h1"]


# ---- config ---------------------------------------------------------------------------------


def _view(env: dict[str, str]) -> config_api.ConfigView:
    settings = Settings.from_env({"AIRLANE_REDIS_URL": "redis://:pw@host:6379/0"})
    auth = AuthConfig((), "the-signing-secret-of-32-bytes-long!")
    return config_view(settings, ApiSettings(settings.redis_url), auth, env)


def _call(view: config_api.ConfigView, path: str, accept: str = "*/*", **match: str) -> Any:
    app = web.Application()
    app[config_api.CONFIG_VIEW] = view
    request = make_mocked_request(
        "GET", path, headers={"Accept": accept}, app=app, match_info=match
    )
    handler = config_api.get_config_value if match else config_api.get_config
    response = asyncio.run(handler(request))
    assert isinstance(response, web.Response)
    assert response.text is not None
    if accept.startswith("text/plain"):
        return response.text
    return orjson.loads(response.text)


def test_config_is_refused_unless_exposed_as_airflows_expose_config() -> None:
    with pytest.raises(ApiError) as err:
        _call(_view({}), "/api/v2/config")
    assert (err.value.status, err.value.detail) == (403, config_api.NOT_EXPOSED)
    with pytest.raises(ValueError, match="non-sensitive-only"):
        _view({"AIRLANE_API_EXPOSE_CONFIG": "sometimes"})


@pytest.mark.parametrize("exposure", ["true", "non-sensitive-only"])
def test_secrets_are_hidden_whatever_the_exposure(exposure: str) -> None:
    view = _view({"AIRFLOW__API__EXPOSE_CONFIG": exposure, "AIRLANE_FERNET_KEY": "k" * 44})
    body = _call(view, "/api/v2/config")
    options = {(s["name"], o["key"]): o["value"] for s in body["sections"] for o in s["options"]}
    assert options["core", "fernet_key"] == "< hidden >"
    assert options["api_auth", "jwt_secret"] == "< hidden >"
    assert options["airlane", "redis_url"] == "< hidden >"
    assert options["core", "dags_folder"] == "dags"
    assert options["api", "expose_config"] == exposure
    assert "pw@host" not in str(body)
    assert "the-signing-secret" not in str(body)


def test_one_option_one_section_and_the_text_form() -> None:
    view = _view({"AIRLANE_API_EXPOSE_CONFIG": "true"})
    one = _call(view, "/x", section="core", option="dags_folder")
    assert one == {
        "sections": [{"name": "core", "options": [{"key": "dags_folder", "value": "dags"}]}]
    }
    hidden = _call(view, "/x", section="api_auth", option="jwt_secret")
    assert hidden["sections"][0]["options"][0]["value"] == "< hidden >"
    with pytest.raises(ApiError) as err:
        _call(view, "/x", section="core", option="nope")
    assert (err.value.status, err.value.detail) == (404, "Option [core/nope] not found.")
    scheduler = _call(view, "/api/v2/config?section=scheduler")
    assert [s["name"] for s in scheduler["sections"]] == ["scheduler"]
    with pytest.raises(ApiError) as err:
        _call(view, "/api/v2/config?section=nope")
    assert (err.value.status, err.value.detail) == (404, "Section nope not found.")
    text = _call(view, "/x", accept="text/plain", section="core", option="dags_folder")
    assert text == "[core]\ndags_folder = dags\n"
    with pytest.raises(ApiError) as err:
        _call(view, "/api/v2/config", accept="text/html")
    assert err.value.status == 406
