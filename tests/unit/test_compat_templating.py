"""Templating as Airflow does it (issue 15): an XComArg in a templated string renders as its
value; ``template_ext`` / ``templates_exts`` values name files, read from the DAG's folder or its
``template_searchpath`` and rendered; ``.partial()`` takes required positional arguments."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pendulum

from airlane import DAG, BaseOperator, BashOperator, PythonOperator, task
from airlane.engine.run_state import TIKey
from airlane.sdk.node import DAGNode
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.xcom_arg import XComArg
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task

WHEN = pendulum.datetime(2024, 3, 5, tz="UTC")


def _run(node: DAGNode, xcoms: InMemoryXComs | None = None) -> list[str]:
    assert node.dag is not None
    lines: list[str] = []
    info = RunInfo(node.dag.dag_id, "run1", WHEN, WHEN, WHEN, {})
    env = ExecutionEnv(xcoms=xcoms or InMemoryXComs(), log=lines.append)
    outcome = asyncio.run(
        execute_task(node, node.dag, TaskRequest(info, TIKey(node.task_id), 1, 0), env)
    )
    assert outcome.state is TaskInstanceState.SUCCESS, outcome.error
    return lines


def test_xcom_arg_str_is_airflows_xcom_pull_template() -> None:
    with DAG("d", schedule=None):
        push = BashOperator(task_id="push", bash_command="echo x")
    assert str(XComArg(push)) == (
        "{{ task_instance.xcom_pull(task_ids='push', dag_id='d', key='return_value') }}"
    )
    assert repr(XComArg(push, "k")) == "XComArg('push', 'k')"


def test_xcom_arg_in_an_f_string_renders_as_its_value() -> None:
    with DAG("d", schedule=None):
        push = BashOperator(task_id="push", bash_command="echo x")
        pull = BashOperator(
            task_id="pull", bash_command=f"echo got {push.output} {push.output['k']}"
        )
    xcoms = InMemoryXComs()
    xcoms.set("push", -1, "return_value", "value")
    xcoms.set("push", -1, "k", 7)
    assert _run(pull, xcoms) == ["got value 7"]


def _files(tmp_path: Path) -> Path:
    (tmp_path / "dags" / "sql").mkdir(parents=True)
    (tmp_path / "dags" / "sql" / "q.sql").write_text("select '{{ ds }}'")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "greet.sh").write_text("echo hello {{ params.who }}")
    return tmp_path / "dags" / "d.py"


def test_templates_exts_files_are_read_and_rendered(tmp_path: Path) -> None:
    fileloc = _files(tmp_path)
    with DAG("d", schedule=None) as dag:

        @task(templates_exts=[".sql"])
        def show(sql: str) -> None:
            print(sql)

        shown = show(sql="sql/q.sql")
        as_text = PythonOperator(task_id="as_text", python_callable=print, op_args=["sql/q.sql"])
    dag.fileloc = str(fileloc)
    assert _run(shown.operator) == ["select '2024-03-05'", "Done. Returned value was: None"]
    assert _run(as_text)[0] == "sql/q.sql"  # no templates_exts: a plain string


def test_template_ext_files_are_found_in_the_template_searchpath(tmp_path: Path) -> None:
    fileloc = _files(tmp_path)
    with DAG(
        "d", schedule=None, template_searchpath=str(tmp_path / "shared"), params={"who": "ada"}
    ) as dag:
        greet = BashOperator(task_id="greet", bash_command="greet.sh")
    dag.fileloc = str(fileloc)
    assert _run(greet) == ["hello ada"]


class _Add(BaseOperator):
    def __init__(self, value: int, step: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value
        self.step = step

    def execute(self, context: Any) -> int:
        return self.value + self.step


def test_partial_and_expand_fill_required_positional_arguments() -> None:
    with DAG("d", schedule=None):
        mapped = _Add.partial(task_id="add", step=1).expand(value=[1, 2])
        from_kwargs = _Add.partial(task_id="kw").expand_kwargs([{"value": 1, "step": 2}])
    assert mapped.literal_lengths() == {"value": 2}
    assert mapped.unmap({"value": [1, 2]}, 1).execute({}) == 3
    assert from_kwargs.unmap([{"value": 1, "step": 2}], 0).execute({}) == 3
