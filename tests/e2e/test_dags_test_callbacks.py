"""``airlane dags test`` calls the DAG's callback once, at the run's end, in its own process,
as Airflow 3.1's ``dags test`` does (checked with Airflow 3.1.8: one line per callback, the
context of the run's last instance by task id, reason ``task_failure`` or ``success``)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TEST_DAGS, run_cli


def test_dags_test_calls_the_dag_callbacks_once(tmp_path: Path) -> None:
    env = {"AIRLANE_TEST_MARKERS": str(tmp_path)}
    folder = str(TEST_DAGS / "callbacks")
    failed = run_cli("dags", "test", "cb_fail", "--dags-folder", folder, "--json", env=env)
    succeeded = run_cli("dags", "test", "cb_success", "--dags-folder", folder, "--json", env=env)
    assert failed.json()["state"] == "failed", failed.stderr
    assert succeeded.json()["state"] == "success", succeeded.stderr
    run_id = failed.json()["run_id"]
    assert (tmp_path / "fail.lines").read_text().splitlines() == [f"task_failure {run_id} c_after"]
    ok_run = succeeded.json()["run_id"]
    assert (tmp_path / "ok1.lines").read_text().splitlines() == [f"success {ok_run} only"]
    assert (tmp_path / "ok2.lines").read_text().splitlines() == [f"success {ok_run} only"]
    assert not (tmp_path / "never.lines").exists()
