"""Loading DAG folders: broken files are reported with file and line; the rest keeps working."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from airlane.dag_loader.discovery import list_dag_files
from airlane.dag_loader.isolated import parse_files
from tests.conftest import run_cli

VALID = """
    from datetime import datetime
    from airflow import DAG
    from airflow.operators.bash import BashOperator

    with DAG("valid_dag", start_date=datetime(2024, 1, 1), schedule="@daily") as dag:
        BashOperator(task_id="a", bash_command="echo a") >> BashOperator(
            task_id="b", bash_command="echo b"
        )
"""
SYNTAX_ERROR = """
    from airflow import DAG

    with DAG("broken_syntax") as dag:
        x = = 1
"""
CYCLE = """
    from airflow import DAG
    from airflow.operators.empty import EmptyOperator

    with DAG("cyclic", schedule=None) as dag:
        a, b, c = (EmptyOperator(task_id=t) for t in "abc")
        a >> b >> c >> a
"""
HANGS = """
    # an airflow DAG file whose import never ends
    import time
    while True:
        time.sleep(1)
"""


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return path


@pytest.fixture
def broken_folder(tmp_path: Path) -> Path:
    write(tmp_path, "valid.py", VALID)
    write(tmp_path, "syntax_error.py", SYNTAX_ERROR)
    write(tmp_path, "cycle.py", CYCLE)
    write(tmp_path, "hangs.py", HANGS)
    return tmp_path


def test_broken_files_do_not_stop_the_valid_one(broken_folder: Path) -> None:
    env = {"AIRLANE_DAG_IMPORT_TIMEOUT_S": "2"}
    started = time.monotonic()
    listed = run_cli("dags", "list", "--dags-folder", str(broken_folder), "--json", env=env)
    assert time.monotonic() - started < 20
    assert listed.code == 0
    assert [row["dag_id"] for row in listed.json()] == ["valid_dag"]
    assert "3 import error(s)" in listed.stderr

    errors = run_cli(
        "dags", "list-import-errors", "--dags-folder", str(broken_folder), "--json", env=env
    ).json()
    by_file = {Path(e["filename"]).name: e for e in errors}
    assert set(by_file) == {"syntax_error.py", "cycle.py", "hangs.py"}
    assert by_file["syntax_error.py"]["lineno"] == 5
    assert by_file["syntax_error.py"]["message"].startswith("SyntaxError")
    assert "a -> b -> c -> a" in by_file["cycle.py"]["message"]
    assert by_file["cycle.py"]["lineno"] == 5
    assert "longer than 2 seconds" in by_file["hangs.py"]["message"]


def test_text_output_names_file_and_line(broken_folder: Path) -> None:
    result = run_cli(
        "dags",
        "list-import-errors",
        "--dags-folder",
        str(broken_folder),
        env={"AIRLANE_DAG_IMPORT_TIMEOUT_S": "1"},
    )
    assert f"{broken_folder / 'syntax_error.py'}:5: SyntaxError" in result.stdout


def test_the_valid_dag_still_runs_beside_broken_files(broken_folder: Path) -> None:
    (broken_folder / "hangs.py").unlink()
    result = run_cli("dags", "test", "valid_dag", "--dags-folder", str(broken_folder), "--json")
    assert result.code == 0, result.stderr
    assert result.json()["state"] == "success"


def test_errors_raised_at_import_point_at_their_line(tmp_path: Path) -> None:
    write(tmp_path, "raises.py", "# airflow dag\nimport os\n\nraise RuntimeError('bad config')\n")
    write(tmp_path, "exits.py", "# airflow dag\nimport sys\nsys.exit(3)\n")
    write(tmp_path, "dies.py", "# airflow dag\nimport os\nos._exit(9)\n")
    write(
        tmp_path,
        "dup.py",
        "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "with DAG('dup', schedule=None):\n"
        "    EmptyOperator(task_id='x')\n"
        "    EmptyOperator(task_id='x')\n",
    )
    write(
        tmp_path,
        "no_start.py",
        "from airflow import DAG\n\ndag = DAG('no_start', schedule='@daily')\n",
    )
    results = {
        Path(r.filename).name: r
        for r in parse_files(list_dag_files(str(tmp_path)), str(tmp_path), timeout_s=10)
    }
    assert results["raises.py"].errors[0].lineno == 4
    assert "RuntimeError: bad config" in results["raises.py"].errors[0].message
    assert "SystemExit" in results["exits.py"].errors[0].message
    assert "exited with code 9" in results["dies.py"].errors[0].message
    assert results["dup.py"].errors[0].lineno == 5
    assert "'x' has already been added" in results["dup.py"].errors[0].message
    assert "no start_date" in results["no_start.py"].errors[0].message
    assert results["no_start.py"].errors[0].lineno == 3


def test_output_printed_at_import_does_not_leak(tmp_path: Path) -> None:
    write(tmp_path, "noisy.py", textwrap.dedent(VALID) + "print('noise')\n")
    result = run_cli("dags", "list", "--dags-folder", str(tmp_path), "--json")
    assert result.json()[0]["dag_id"] == "valid_dag"
    assert "noise" not in result.stdout


def test_helper_modules_in_the_dags_folder_are_importable(tmp_path: Path) -> None:
    write(tmp_path, "common/settings.py", "OWNER = 'team-a'\n")
    write(tmp_path, "common/__init__.py", "")
    write(
        tmp_path,
        "uses_helper.py",
        "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "from common.settings import OWNER\n"
        "with DAG('uses_helper', schedule=None, default_args={'owner': OWNER}):\n"
        "    EmptyOperator(task_id='x')\n",
    )
    result = run_cli("dags", "list", "--dags-folder", str(tmp_path), "--json")
    assert [row["dag_id"] for row in result.json()] == ["uses_helper"]
