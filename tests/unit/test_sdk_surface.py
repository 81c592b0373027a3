"""What ``airflow.sdk`` exports: every name of Airflow 3.1.8's Task SDK (1.1.8) ``__all__``
(``ObjectStoragePath``: tests/unit/test_object_storage.py), and what those names do:
``literal``, ``get_parsing_context``, ``BaseOperatorLink`` (links pushed as XComs when a try
ends, recorded by the DAG processor)."""

from __future__ import annotations

import importlib

import pytest

from airlane import DAG, BashOperator, PythonOperator
from airlane.dag_loader import airflow_compat
from airlane.dag_loader.serialize import serialize_task
from airlane.sdk.literal import literal
from airlane.sdk.operator_link import BaseOperatorLink
from airlane.sdk.parsing_context import AirflowParsingContext, get_parsing_context
from tests.unit.test_task_runner import run

#: ``airflow.sdk.__all__`` of apache-airflow-task-sdk 1.1.8 (Airflow 3.1.8), read from its wheel
TASK_SDK_1_1_8 = [
    "__version__",
    "Asset",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetWatcher",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "Connection",
    "Context",
    "DAG",
    "DagRunState",
    "EdgeModifier",
    "Label",
    "Metadata",
    "ObjectStoragePath",
    "Param",
    "PokeReturnValue",
    "TaskGroup",
    "TaskInstanceState",
    "TriggerRule",
    "Variable",
    "WeightRule",
    "XComArg",
    "asset",
    "chain",
    "chain_linear",
    "cross_downstream",
    "dag",
    "get_current_context",
    "get_parsing_context",
    "literal",
    "setup",
    "task",
    "task_group",
    "teardown",
]


def test_airflow_sdk_exports_the_task_sdk_names() -> None:
    airflow_compat.install()
    sdk = importlib.import_module("airflow.sdk")
    missing = [n for n in TASK_SDK_1_1_8 if not hasattr(sdk, n)]
    assert missing == []
    assert sdk.__version__ == "1.1.8"
    newer = ["ExceptionRetryPolicy", "CronTriggerTimetable", "AssetOrTimeSchedule", "SkipMixin"]
    assert all(hasattr(sdk, n) for n in newer)
    for path, name in [
        ("airflow.utils.dag_parsing_context", "get_parsing_context"),
        ("airflow.sdk.definitions.template", "literal"),
        ("airflow.models.baseoperatorlink", "BaseOperatorLink"),
        ("airflow.sdk.bases.operatorlink", "BaseOperatorLink"),
    ]:
        assert hasattr(importlib.import_module(path), name), path


def test_a_literal_field_is_not_rendered() -> None:
    with DAG("d", schedule=None):
        op = BashOperator(task_id="b", bash_command=literal("echo '{{ ds }}'"))
    outcome, lines, _ = run(op)
    assert lines == ["{{ ds }}"]
    assert outcome.state.value == "success"


def test_the_parsing_context_names_nothing_unless_the_environment_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert get_parsing_context() == AirflowParsingContext(None, None)
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "d")
    assert get_parsing_context().dag_id == "d"


class Docs(BaseOperatorLink):
    name = "Docs"

    def get_link(self, operator: object, *, ti_key: object) -> str:
        return f"https://docs.example/{ti_key.dag_id}/{ti_key.task_id}"  # type: ignore[attr-defined]


class Broken(BaseOperatorLink):
    name = "Broken"

    def get_link(self, operator: object, *, ti_key: object) -> str:
        raise RuntimeError("no link")


class Linked(PythonOperator):
    operator_extra_links = (Docs(), Broken())


def test_a_try_pushes_its_links_whatever_its_end() -> None:
    with DAG("d", schedule=None):
        ok = Linked(task_id="ok", python_callable=lambda: None)
        bad = Linked(task_id="bad", python_callable=lambda: 1 / 0)
    outcome, lines, store = run(ok)
    assert outcome.state.value == "success"
    assert store.get("ok", -1, "_link_Docs") == "https://docs.example/d/ok"
    assert any("operator extra link 'Broken'" in line for line in lines)
    outcome, _, store = run(bad)
    assert outcome.state.value == "failed"
    assert store.get("bad", -1, "_link_Docs") == "https://docs.example/d/bad"
    assert ok.extra_links == ["Broken", "Docs"]
    assert serialize_task(ok, 1)["extra_links"] == [
        {"name": "Broken", "xcom_key": "_link_Broken"},
        {"name": "Docs", "xcom_key": "_link_Docs"},
    ]
    with DAG("e", schedule=None):
        plain = PythonOperator(task_id="p", python_callable=lambda: None)
    assert "extra_links" not in serialize_task(plain, 1)


def test_dag_results() -> None:
    """Airflow 3.3's ``@result`` and ``DAG.add_result``: which tasks' return values are the
    run's result (serialized as ``returns_dag_result``, read by the API's wait route)."""
    from airlane import dag, task
    from airlane.dag_loader.serialize import serialize_dag
    from airlane.sdk import result

    @dag(schedule=None)
    def with_results():  # type: ignore[no-untyped-def]
        @result
        @task
        def marked() -> int:
            return 1

        @task
        def added() -> int:
            return 2

        @task
        def returned() -> int:
            return 3

        marked()
        with_results_dag = added()
        with_results_dag.operator.dag.add_result(with_results_dag)
        return returned()  # the function's return is a result too

    built = with_results()
    flags = {
        t["task_id"]: t.get("returns_dag_result", False) for t in serialize_dag(built)["tasks"]
    }
    assert flags == {"marked": True, "added": True, "returned": True}
    with pytest.raises(TypeError, match="@result must be used on top of a @task"):
        result(lambda: 1)
    with pytest.raises(ValueError, match="Only plain return value can be used as dag result"):
        built.add_result(built.task_dict["added"].output["other_key"])


def test_airflow_3_3_names() -> None:
    """Names Airflow 3.3's airflow.sdk adds that Airlane serves (the rest of them, partitions
    and windows and BaseXCom, are not there yet)."""
    airflow_compat.install()
    sdk = importlib.import_module("airflow.sdk")
    for name in (
        "AsyncCallback",
        "SyncCallback",
        "DeadlineAlert",
        "DeadlineReference",
        "BaseDeadlineReference",
        "deadline_reference",
        "ResumableJobMixin",
        "BaseAsyncOperator",
        "AssetAccessControl",
        "BranchMixIn",
        "result",
        "conf",
        "lineage",
        "macros",
        "ObjectStoragePath",
    ):
        assert hasattr(sdk, name), name
    assert sdk.macros.ds_add("2024-01-01", 1) == "2024-01-02"
    assert importlib.import_module("airflow.sdk.bases.branch").BranchMixIn is sdk.BranchMixIn


def test_branch_mixin_follows_the_branch() -> None:
    from airlane.sdk.operators.python import BaseBranchOperator

    class Pick(BaseBranchOperator):
        def choose_branch(self, context):  # type: ignore[no-untyped-def]
            return "b"

    with DAG("branch_mixin", schedule=None):
        pick = Pick(task_id="pick")
        pick >> [
            BashOperator(task_id="a", bash_command="true"),
            BashOperator(task_id="b", bash_command="true"),
        ]
    outcome, lines, _ = run(pick)
    assert outcome.state == "success"
    assert any("Branch into b" in line for line in lines)
    assert outcome.follow == ("b",)


def test_an_async_operator_is_awaited_on_the_tries_loop() -> None:
    import asyncio

    from airlane.sdk import BaseAsyncOperator

    class Fetch(BaseAsyncOperator):
        async def aexecute(self, context):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0)
            return {"rows": 3}

    with DAG("async_operator", schedule=None):
        fetch = Fetch(task_id="fetch")
    outcome, _, xcoms = run(fetch)
    assert outcome.state == "success"
    assert xcoms.get("fetch", -1, "return_value") == {"rows": 3}
    assert fetch.is_async
    assert fetch.execute({}) == {"rows": 3}  # called directly: a loop of its own
    airflow_compat.install()
    assert (
        importlib.import_module("airflow.sdk.bases.operator").BaseAsyncOperator is BaseAsyncOperator
    )
