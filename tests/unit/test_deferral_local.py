"""``dags test`` runs a deferred try's trigger inline and resumes the same try (Airflow 3's
dag.test does the same); trigger failures and timeouts fail the task with Airflow's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlane.dag_loader.importer import load_dags
from airlane.sdk.dag import DAG
from airlane.service.execution.local_runner import run_dag_object
from tests.conftest import TEST_DAGS

FOLDER = TEST_DAGS / "deferral"


@pytest.fixture
def dags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, DAG]:
    monkeypatch.setenv("AIRLANE_TEST_MARKERS", str(tmp_path))
    loaded, errors = load_dags(str(FOLDER / "deferral_dags.py"), str(FOLDER))
    assert not errors
    return {dag.dag_id: dag for dag in loaded}


def _run(dag: DAG) -> tuple[dict[str, object], list[str]]:
    lines: list[str] = []
    result = run_dag_object(dag, sink=lambda label, line: lines.append(f"{label}: {line}"))
    return result.to_json(), lines


def test_a_deferred_task_resumes_in_its_method_with_the_same_try(dags: dict[str, DAG]) -> None:
    result, lines = _run(dags["defer_sleep"])
    assert result["state"] == "success"
    assert result["tasks"] == {"sleep": {"state": "success", "try_number": 1}}
    assert any("running trigger in line" in line for line in lines)
    assert any("resumed by" in line or "Trigger completed" in line for line in lines)


def test_a_trigger_that_raises_or_times_out_fails_its_task(dags: dict[str, DAG]) -> None:
    result, lines = _run(dags["defer_failures"])
    assert result["state"] == "failed"
    assert result["tasks"]["broken"]["state"] == "failed"
    assert result["tasks"]["timed_out"]["state"] == "failed"
    text = "\n".join(lines)
    assert "TaskDeferralError: Trigger failure" in text
    assert "ValueError: the trigger broke" in text
    assert "TaskDeferralTimeout: Trigger timeout" in text


def test_tasks_test_runs_the_trigger_inline_too(
    dags: dict[str, DAG], capsys: pytest.CaptureFixture[str]
) -> None:
    from airlane.cli.tasks_cmd import run_task_test

    code = run_task_test(
        dags["defer_sleep"],
        "sleep",
        map_index=-1,
        logical_date=None,
        conf={},
        as_json=False,
        xcom_max_bytes=1024,
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "running trigger in line" in out
    assert out.rstrip().endswith("sleep: success")
