"""A DAG file run as a script (issue 15, item 3): ``python my_dag.py <command>`` with the venv's
Python, no Airflow installed and no Redis, through the ``.pth`` hook and ``dag.cli()``.

Airflow's ``dag.cli()`` takes no dag_id (``dags test [date]``, ``tasks test <task> [date]``);
the dag_id first is accepted too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import orjson

from tests.conftest import EXAMPLE_DAGS

SEED = EXAMPLE_DAGS / "simple_airflow_dag.py"


@dataclass
class Done:
    code: int
    stdout: str
    stderr: str


def run_script(path: Path, *args: str, cwd: Path) -> Done:
    """``python path args`` from ``cwd`` (no dags folder there), Redis unreachable."""
    env = {**os.environ, "AIRLANE_REDIS_URL": "redis://127.0.0.1:1/0"}
    env.pop("AIRLANE_DAGS_FOLDER", None)
    proc = subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
    return Done(proc.returncode, proc.stdout, proc.stderr)


def test_seed_dags_test_with_its_dag_id(tmp_path: Path) -> None:
    done = run_script(SEED, "dags", "test", "simple_airflow_dag", "2025-01-01", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert "[print_hello] Hello Airflow" in done.stdout
    assert "[print_world] World!" in done.stdout
    assert "DAG run manual__2025-01-01T00:00:00+00:00: success" in done.stdout
    assert "  print_world: success (try 1)" in done.stdout


def test_seed_dags_test_in_airflows_form_prints_json(tmp_path: Path) -> None:
    done = run_script(SEED, "dags", "test", "2025-01-01", "--json", cwd=tmp_path)
    assert done.code == 0, done.stderr
    result = orjson.loads(done.stdout)
    assert result["dag_id"] == "simple_airflow_dag"
    assert result["state"] == "success"
    assert {task: info["state"] for task, info in result["tasks"].items()} == {
        "print_hello": "success",
        "print_world": "success",
    }


def test_seed_tasks_list(tmp_path: Path) -> None:
    for args in (("tasks", "list", "simple_airflow_dag"), ("tasks", "list")):
        done = run_script(SEED, *args, cwd=tmp_path)
        assert done.code == 0, done.stderr
        assert done.stdout.splitlines() == ["print_hello", "print_world"]
    tree = run_script(SEED, "tasks", "list", "--tree", cwd=tmp_path)
    assert tree.stdout.splitlines() == [
        "<Task(BashOperator): print_hello>",
        "    <Task(BashOperator): print_world>",
    ]


def test_seed_tasks_test(tmp_path: Path) -> None:
    for args in (
        ("tasks", "test", "simple_airflow_dag", "print_world", "2025-01-01"),
        ("tasks", "test", "print_world", "2025-01-01"),
    ):
        done = run_script(SEED, *args, cwd=tmp_path)
        assert done.code == 0, done.stderr
        assert done.stdout.splitlines() == ["[print_world] World!", "print_world: success"]


def test_seed_dags_list(tmp_path: Path) -> None:
    done = run_script(SEED, "dags", "list", "--json", cwd=tmp_path)
    assert done.code == 0, done.stderr
    [row] = orjson.loads(done.stdout)
    assert row["dag_id"] == "simple_airflow_dag"
    assert row["fileloc"] == str(SEED)
    assert row["tasks"] == 2


def test_unknown_names_are_usage_errors(tmp_path: Path) -> None:
    missing_task = run_script(SEED, "tasks", "test", "nope", cwd=tmp_path)
    assert missing_task.code == 2
    assert "task 'nope' not found in DAG 'simple_airflow_dag'" in missing_task.stderr
    missing_dag = run_script(SEED, "dags", "test", "other", "2025-01-01", cwd=tmp_path)
    assert missing_dag.code == 2
    assert "no DAG 'other' in this file" in missing_dag.stderr
    not_offered = run_script(SEED, "dags", "backfill", cwd=tmp_path)
    assert not_offered.code == 2


TWO_DAGS = """
import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("first", schedule=None, start_date=pendulum.datetime(2025, 1, 1)) as first:
    BashOperator(task_id="ok", bash_command="echo first ok")

with DAG("second", schedule=None, start_date=pendulum.datetime(2025, 1, 1)) as second:
    BashOperator(task_id="fails", bash_command="echo about to fail; exit 3")

if __name__ == "__main__":
    first.cli()
"""


def test_a_file_with_two_dags_and_failures(tmp_path: Path) -> None:
    path = tmp_path / "two_dags.py"
    path.write_text(textwrap.dedent(TWO_DAGS))
    listed = run_script(path, "dags", "list", "--json", cwd=tmp_path)
    assert [row["dag_id"] for row in orjson.loads(listed.stdout)] == ["first", "second"]
    ok = run_script(path, "dags", "test", cwd=tmp_path)
    assert ok.code == 0, ok.stderr
    assert "[ok] first ok" in ok.stdout
    failed = run_script(path, "dags", "test", "second", "2025-01-01", cwd=tmp_path)
    assert failed.code == 1
    assert "  fails: failed (try 1)" in failed.stdout
    task = run_script(path, "tasks", "test", "second", "fails", cwd=tmp_path)
    assert task.code == 1
    assert task.stdout.splitlines()[0] == "[fails] about to fail"


DAG_TEST = """
import pendulum
from airflow.sdk import dag, task

@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"))
def pipeline():
    @task
    def produce():
        return 21

    @task
    def double(value):
        print("doubled", value * 2)

    double(produce())

run = pipeline().test(logical_date=pendulum.datetime(2025, 1, 2, tz="UTC"))
print("result", run.dag_id, run.run_id, run.state)
"""


def test_dag_test_runs_the_dag_in_this_process(tmp_path: Path) -> None:
    path = tmp_path / "dag_test.py"
    path.write_text(textwrap.dedent(DAG_TEST))
    done = run_script(path, cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert "[double] doubled 42" in done.stdout
    assert (
        done.stdout.splitlines()[-1] == "result pipeline manual__2025-01-02T00:00:00+00:00 success"
    )


def test_the_readme_commands_run_as_written(tmp_path: Path) -> None:
    readme = (EXAMPLE_DAGS.parents[1] / "README.md").read_text()
    block = readme.split("The seed also runs as a script", 1)[1].split("```bash\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    assert len(lines) == 3
    for line in lines:
        program, script, *args = line.split()
        assert program == ".venv/bin/python"
        done = run_script(EXAMPLE_DAGS.parents[1] / script, *args, cwd=tmp_path)
        assert done.code == 0, line + done.stderr
        assert "print_hello" in done.stdout
