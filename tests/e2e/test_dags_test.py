"""``airlane dags test`` end to end on real DAG files, through the real CLI.

Each file in ``tests/dags/behaviour`` states the end state of every task in ``EXPECTED``; the
same files serve the distributed runtime's tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BEHAVIOUR_DAGS, EXAMPLE_DAGS, behaviour_cases, normalise_states, run_cli


@pytest.mark.parametrize(("path", "expected"), behaviour_cases())
def test_behaviour_dag(path: Path, expected: dict[str, Any]) -> None:
    args = ["dags", "test", expected["dag_id"], "--dags-folder", str(BEHAVIOUR_DAGS), "--json"]
    if "logical_date" in expected:
        args += ["--logical-date", expected["logical_date"]]
    if "conf" in expected:
        import orjson

        args += ["--conf", orjson.dumps(expected["conf"]).decode()]
    result = run_cli(*args)
    assert result.code in (0, 1), result.stderr
    data = result.json()
    states, tries = normalise_states(expected["tasks"])
    got_states = {label: info["state"] for label, info in data["tasks"].items()}
    assert got_states == states, result.stderr[-3000:]
    for label, try_number in tries.items():
        assert data["tasks"][label]["try_number"] == try_number, label
    assert data["state"] == expected["state"]
    assert result.code == (0 if expected["state"] == "success" else 1)
    for line in expected.get("logs", []):
        assert line in result.stderr


def test_seed_example_runs_with_both_tasks_and_their_output() -> None:
    result = run_cli(
        "dags", "test", "simple_airflow_dag", "--dags-folder", str(EXAMPLE_DAGS), "--json"
    )
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["dag_id"] == "simple_airflow_dag"
    assert data["state"] == "success"
    assert data["tasks"] == {
        "print_hello": {"state": "success", "try_number": 1},
        "print_world": {"state": "success", "try_number": 1},
    }
    assert "[print_hello] Hello Airflow" in result.stderr
    assert "[print_world] World!" in result.stderr


@pytest.mark.parametrize("dag_id", ["etl_bash_python", "branching", "taskflow_etl", "mapped_files"])
def test_examples_succeed(dag_id: str) -> None:
    result = run_cli("dags", "test", dag_id, "--dags-folder", str(EXAMPLE_DAGS))
    assert result.code == 0, result.stdout + result.stderr
    assert "success" in result.stdout


def test_text_output_lists_every_task() -> None:
    result = run_cli("dags", "test", "simple_airflow_dag", "--dags-folder", str(EXAMPLE_DAGS))
    assert result.code == 0
    assert "print_hello: success (try 1)" in result.stdout
    assert "[print_world] World!" in result.stdout


def test_usage_and_load_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("dags", "test", "no_such_dag", "--dags-folder", str(EXAMPLE_DAGS)).code == 2
    assert (
        run_cli(
            "dags", "test", "simple_airflow_dag", "--dags-folder", str(tmp_path / "missing")
        ).code
        == 2
    )
    bad_conf = run_cli(
        "dags", "test", "simple_airflow_dag", "--dags-folder", str(EXAMPLE_DAGS), "--conf", "[1]"
    )
    assert bad_conf.code == 2
    assert "--conf" in bad_conf.stderr
    assert run_cli("dags", "bogus").code == 2


def test_a_dag_whose_file_fails_to_import_shows_the_import_error(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(
        "from airflow import DAG\n"
        "import pendulum\n\n"
        "with DAG('broken_dag', start_date=pendulum.datetime(2024, 1, 1), schedule=None):\n"
        "    undefined_name()\n"
    )
    result = run_cli("dags", "test", "broken_dag", "--dags-folder", str(tmp_path))
    assert result.code == 2
    assert f"{tmp_path / 'broken.py'}:5: NameError: name 'undefined_name' is not defined" in (
        result.stderr
    )
    assert "not found in" not in result.stderr


def test_a_failed_task_shows_its_own_frames_and_a_bash_exit_code_in_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "fails.py").write_text(
        "from airflow import DAG\n"
        "from airflow.operators.bash import BashOperator\n"
        "from airflow.operators.python import PythonOperator\n"
        "import pendulum\n\n"
        "def boom():\n"
        "    raise ValueError('user error')\n\n"
        "with DAG('fails', start_date=pendulum.datetime(2024, 1, 1), schedule=None):\n"
        "    PythonOperator(task_id='boom', python_callable=boom)\n"
        "    BashOperator(task_id='exit3', bash_command='exit 3')\n"
    )
    result = run_cli("dags", "test", "fails", "--dags-folder", str(tmp_path))
    assert result.code == 1
    boom = result.stdout[result.stdout.index("[boom] Traceback") :]
    assert boom.splitlines()[1].strip().startswith(f'File "{tmp_path / "fails.py"}", line 7')
    assert "ValueError: user error" in boom
    assert "task_runner.py" not in result.stdout
    exit3 = [line for line in result.stdout.splitlines() if line.startswith("[exit3]")]
    assert exit3[-1] == (
        "[exit3] AirflowException: Bash command failed. "
        "The command returned a non-zero exit code 3."
    )


def test_tasks_test_runs_one_task_alone() -> None:
    ok = run_cli(
        "tasks", "test", "simple_airflow_dag", "print_world", "--dags-folder", str(EXAMPLE_DAGS)
    )
    assert ok.code == 0, ok.stderr
    assert "World!" in ok.stdout
    assert "print_hello" not in ok.stdout
    failing = run_cli(
        "tasks",
        "test",
        "retries_behaviour",
        "fail_fast",
        "--dags-folder",
        str(BEHAVIOUR_DAGS),
        "--json",
    )
    assert failing.code == 1
    assert failing.json()["state"] == "failed"
    assert "no point retrying" in failing.json()["error"]


def test_dag_test_method_runs_in_process() -> None:
    from airlane import DAG, PythonOperator

    with DAG("in_process", schedule=None) as dag:
        PythonOperator(task_id="one", python_callable=lambda: 1) >> PythonOperator(
            task_id="two", python_callable=lambda ti: ti.xcom_pull("one") + 1
        )
    result = dag.test()
    assert result.state.value == "success"
    assert result.tasks["two"]["state"] == "success"


def test_a_custom_xcom_backend_stores_large_values_elsewhere(tmp_path: Path) -> None:
    """``[core] xcom_backend`` in ``dags test``: the common-io provider's object storage backend
    (its settings through Airflow's environment names, ``[common.io]`` as AIRFLOW__COMMON_IO__)."""
    files = tmp_path / "xcom_files"
    files.mkdir()
    env = {
        "AIRFLOW__CORE__XCOM_BACKEND": (
            "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"
        ),
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"file://{files}",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "100",
        "XCOM_FILES": str(files),
    }
    folder = Path(__file__).parents[1] / "dags" / "xcom_backend"
    result = run_cli("dags", "test", "xcom_object_storage", "--dags-folder", str(folder), env=env)
    assert result.code == 0, result.stdout + result.stderr
    assert "[consume] FILES ['produce']" in result.stdout


def test_an_xcom_backend_that_is_not_one_fails_the_tries_that_push(tmp_path: Path) -> None:
    env = {"AIRFLOW__CORE__XCOM_BACKEND": "json.JSONEncoder"}
    folder = Path(__file__).parents[1] / "dags" / "xcom_backend"
    result = run_cli("dags", "test", "prior_pull", "--dags-folder", str(folder), env=env)
    assert result.code == 1
    assert "Your custom XCom class `JSONEncoder` is not a subclass of `BaseXCom`." in (
        result.stdout + result.stderr
    )
