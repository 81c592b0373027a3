"""Airflow 2's SubDagOperator (``airflow.operators.subdag``) under ``dags test``: the sub-DAG is
a DAG of the file (``<parent>.<task_id>``, never scheduled alone), run as a run of its own at the
parent's logical date; the operator ends as the sub-run, a retry re-runs only the sub-run's
failed instances, and ``propagate_skipped_state`` skips the operator's direct downstream."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlane.dag_loader.importer import load_dags
from airlane.dag_loader.serialize import serialize_dag
from airlane.scheduling.scheduler import dag_schedule
from airlane.sdk.dag import DAG
from airlane.sdk.timezone import datetime, utcnow
from airlane.service.execution.local_runner import run_dag_object

# Airflow 2 warns on every SubDagOperator (deprecated); the warning is Airflow's, not a failure.
pytestmark = pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning")

HEADER = """
import datetime as dt
import pathlib
from airflow.exceptions import AirflowSkipException
from airflow.models.dag import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.operators.subdag import SubDagOperator

OUT = pathlib.Path({out!r})
START = dt.datetime(2024, 1, 1)


def note(name, **context):
    run_id, when = context["dag_run"].run_id, context["logical_date"].isoformat()
    with open(OUT / "calls.txt", "a") as f:
        f.write(f"{{name}} {{run_id}} {{when}}\\n")
"""

SIMPLE = """
def section(parent, child):
    sub = DAG(f"{parent}.{child}", start_date=START, schedule="@daily")
    PythonOperator(task_id="work", python_callable=note, op_args=["work"], dag=sub)
    return sub

with DAG("parent", start_date=START, schedule="@once") as dag:
    start = EmptyOperator(task_id="start")
    run = SubDagOperator(task_id="section", subdag=section("parent", "section"))
    end = EmptyOperator(task_id="end")
    start >> run >> end
"""


def _file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "subdag_dag.py"
    path.write_text(HEADER.format(out=str(tmp_path)) + body)
    return path


def _load(tmp_path: Path, body: str) -> dict[str, DAG]:
    dags, errors = load_dags(str(_file(tmp_path, body)), str(tmp_path))
    assert not errors, errors
    return {d.dag_id: d for d in dags}


def _test(dags: dict[str, DAG], dag_id: str = "parent") -> dict[str, str | None]:
    result = run_dag_object(
        dags[dag_id], logical_date=datetime(2025, 1, 1), sink=lambda *_: None, lookup=dags.get
    )
    return {label: info["state"] for label, info in result.to_json()["tasks"].items()}


def _calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


def test_the_sub_dag_is_a_dag_of_the_file_never_scheduled_alone(tmp_path: Path) -> None:
    dags = _load(tmp_path, SIMPLE)
    assert sorted(dags) == ["parent", "parent.section"]
    sub = dags["parent.section"]
    assert sub.parent_dag is dags["parent"]
    assert sub.is_subdag
    assert sub.fileloc == dags["parent"].fileloc
    serialized = serialize_dag(sub)
    assert serialized["parent_dag_id"] == "parent"
    assert serialized["is_paused_upon_creation"] is False
    assert dag_schedule(serialized, None, utcnow(), data_intervals_default=True) is None
    assert dag_schedule(serialize_dag(dags["parent"]), None, utcnow(), data_intervals_default=True)


def test_the_sub_run_is_a_scheduled_run_at_the_parents_logical_date(tmp_path: Path) -> None:
    dags = _load(tmp_path, SIMPLE)
    assert _test(dags) == {"start": "success", "section": "success", "end": "success"}
    assert _calls(tmp_path) == [
        "work scheduled__2025-01-01T00:00:00+00:00 2025-01-01T00:00:00+00:00"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            """
with DAG("parent", start_date=START) as dag:
    SubDagOperator(task_id="section", subdag=DAG("parent.other", start_date=START))
""",
            "Expected 'parent.section'; received 'parent.other'",
        ),
        (
            """
SubDagOperator(task_id="section", subdag=DAG("parent.section", start_date=START))
""",
            "Please pass in the `dag` param or call within a DAG context manager",
        ),
    ],
)
def test_a_wrong_sub_dag_is_refused_at_load_time(tmp_path: Path, body: str, message: str) -> None:
    _, errors = load_dags(str(_file(tmp_path, body)), str(tmp_path))
    assert len(errors) == 1
    assert message in errors[0].message


FAILING = """
def flaky(**context):
    note("flaky", **context)
    if len([c for c in OUT.joinpath("calls.txt").read_text().splitlines() if "flaky" in c]) < 2:
        raise ValueError("first try fails")

def section(parent, child):
    sub = DAG(f"{parent}.{child}", start_date=START)
    ok = PythonOperator(task_id="ok", python_callable=note, op_args=["ok"], dag=sub)
    bad = PythonOperator(task_id="flaky", python_callable=flaky, dag=sub)
    after = PythonOperator(task_id="after", python_callable=note, op_args=["after"], dag=sub)
    ok >> bad >> after
    return sub

with DAG("parent", start_date=START) as dag:
    run = SubDagOperator(task_id="section", subdag=section("parent", "section"),
                         retries=RETRIES, retry_delay=dt.timedelta(0))
    run >> EmptyOperator(task_id="end")
"""


def test_a_failed_sub_run_fails_the_operator(tmp_path: Path) -> None:
    dags = _load(tmp_path, FAILING.replace("RETRIES", "0"))
    assert _test(dags) == {"section": "failed", "end": "upstream_failed"}


def test_a_retry_runs_again_only_the_failed_instances_of_the_sub_run(tmp_path: Path) -> None:
    dags = _load(tmp_path, FAILING.replace("RETRIES", "1"))
    assert _test(dags) == {"section": "success", "end": "success"}
    names = [line.split()[0] for line in _calls(tmp_path)]
    assert names == ["ok", "flaky", "flaky", "after"]  # ``ok`` is not run again


SKIPPING = """
def skip():
    raise AirflowSkipException("nothing to do")

def section(parent, child):
    sub = DAG(f"{parent}.{child}", start_date=START)
    PythonOperator(task_id="skipped_leaf", python_callable=skip, dag=sub)
    EmptyOperator(task_id="done_leaf", dag=sub)
    return sub

with DAG("parent", start_date=START) as dag:
    run = SubDagOperator(task_id="section", subdag=section("parent", "section"),
                         propagate_skipped_state=OPTION)
    run >> EmptyOperator(task_id="next") >> EmptyOperator(task_id="last")
"""


@pytest.mark.parametrize(
    ("option", "downstream"),
    [
        ("None", "success"),
        ("SkippedStatePropagationOptions.ANY_LEAF", "skipped"),
        ("SkippedStatePropagationOptions.ALL_LEAVES", "success"),
        ("'any_leaf'", "skipped"),
    ],
)
def test_propagate_skipped_state(tmp_path: Path, option: str, downstream: str) -> None:
    body = "from airflow.operators.subdag import SkippedStatePropagationOptions\n" + SKIPPING
    dags = _load(tmp_path, body.replace("OPTION", option))
    states = _test(dags)
    assert states == {"section": "success", "next": downstream, "last": downstream}
