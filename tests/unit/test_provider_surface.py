"""Airflow's core surface that provider packages use (issue 16): ``conf``, operator and hook
logging into the task log, Airflow's rendering methods honoured when an operator overrides them,
``XComArg.resolve``, ``SkipMixin.skip``, the helpers and the no-op lineage collector.

Expected values are Airflow 3.1.8's (checked in /work/airflow-venv-3)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import jinja2
import pendulum
import pytest

from airlane import DAG, BaseOperator, BashOperator, PythonOperator
from airlane.dag_loader import airflow_compat
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.sdk.exceptions import AirflowConfigException, XComNotFound
from airlane.sdk.node import DAGNode
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.templater import overrides_rendering
from airlane.sdk.xcom_arg import XComArg
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task

WHEN = pendulum.datetime(2024, 3, 5, tz="UTC")


def _outcome(node: DAGNode, xcoms: InMemoryXComs, lines: list[str]) -> TaskOutcome:
    assert node.dag is not None
    info = RunInfo(node.dag.dag_id, "run1", WHEN, WHEN, WHEN, {})
    env = ExecutionEnv(xcoms=xcoms, log=lines.append)
    request = TaskRequest(info, TIKey(node.task_id), 1, 0)
    return asyncio.run(execute_task(node, node.dag, request, env))


def _run(node: DAGNode, xcoms: InMemoryXComs | None = None) -> list[str]:
    lines: list[str] = []
    outcome = _outcome(node, xcoms or InMemoryXComs(), lines)
    assert outcome.state is TaskInstanceState.SUCCESS, (outcome.error, lines)
    return lines


# ---- conf ---------------------------------------------------------------------------------


def test_conf_getjson_getint_getsection_and_friends(monkeypatch: pytest.MonkeyPatch) -> None:
    airflow_compat.install()
    from airflow.sdk.configuration import conf

    monkeypatch.setenv("AIRFLOW__MY__LIST", "[1, 2]")
    monkeypatch.setenv("AIRFLOW__MY__WORD", "not json")
    assert conf.getjson("my", "list") == [1, 2]
    assert conf.getjson("my", "missing", fallback={"a": 1}) == {"a": 1}
    assert conf.getjson("my", "missing") is None
    with pytest.raises(AirflowConfigException, match=r"Unable to parse \[my\] 'word' as valid"):
        conf.getjson("my", "word")
    with pytest.raises(AirflowConfigException, match=r'to int\. Please check "word" key in "my"'):
        conf.getint("my", "word")
    assert conf.getint("smtp", "smtp_port") == 25
    assert conf.getfloat("my", "missing", fallback=1.5) == 1.5
    assert conf.getboolean("operators", "default_deferrable", fallback=True) is False
    monkeypatch.setenv("AIRFLOW__SMTP__SMTP_PORT", "2525")
    assert conf.getsection("smtp") == {
        "smtp_host": "localhost",
        "smtp_starttls": True,
        "smtp_ssl": False,
        "smtp_port": 2525,
        "smtp_mail_from": "airflow@example.com",
        "smtp_timeout": 30,
        "smtp_retry_limit": 5,
    }
    assert conf.getsection("no_such_section") is None
    assert conf.get_mandatory_value("smtp", "smtp_host") == "localhost"
    assert conf.getimport("my", "missing", fallback="") is None
    monkeypatch.setenv("AIRFLOW__MY__OBJ", "json.dumps")
    import json

    assert conf.getimport("my", "obj") is json.dumps
    # a default wins over the caller's fallback, as in Airflow; installed providers' sections too
    assert conf.get("smtp", "smtp_host", fallback="x") == "localhost"
    assert conf.get("postgres", "azure_oauth_scope", fallback="x").endswith("/.default")
    assert list(conf.getsection("postgres") or {}) == ["azure_oauth_scope"]


def test_conf_reads_airlanes_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from airlane.sdk.configuration import conf

    monkeypatch.delenv("AIRFLOW__CORE__DAGS_FOLDER", raising=False)
    monkeypatch.setenv("AIRLANE_DAGS_FOLDER", "/srv/dags")
    assert conf.get("core", "dags_folder") == "/srv/dags"
    assert conf.has_option("core", "dags_folder")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", "/other")  # Airflow's variable first
    assert conf.get("core", "dags_folder") == "/other"


# ---- logging ------------------------------------------------------------------------------


class _Logs(BaseOperator):
    def execute(self, context: Any) -> None:
        self.log.info("info from %s", self.task_id)
        self.log.debug("debug is below the task log's level")
        logging.getLogger("some.library").warning("a library warns")


def test_operator_logs_at_info_reach_the_task_log() -> None:
    with DAG("d", schedule=None):
        task = _Logs(task_id="logs")
        named = _Logs(task_id="named", logger_name="my.logger")
    assert task.log.name == f"airflow.task.operators.{__name__}._Logs"
    assert named.log.name == "airflow.task.operators.my.logger"
    lines = _run(task)
    assert "INFO - info from logs" in lines
    assert "WARNING - a library warns" in lines
    assert not any("debug" in line for line in lines)


def test_records_outside_a_task_stay_out_of_task_logs() -> None:
    with DAG("d", schedule=None):
        task = _Logs(task_id="logs")
    lines = _run(task)
    logging.getLogger("some.library").info("after the task")
    assert not any("after the task" in line for line in lines)


# ---- rendering methods --------------------------------------------------------------------


class _IntAfterRender(BaseOperator):
    """Converts a field after Airflow's rendering, as common-sql's GenericTransfer does."""

    template_fields: ClassVar[Sequence[str]] = ("page_size", "words")

    def __init__(self, *, page_size: Any, words: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.page_size = page_size
        self.words = words

    def render_template_fields(
        self, context: Any, jinja_env: jinja2.Environment | None = None
    ) -> None:
        super().render_template_fields(context, jinja_env=jinja_env)
        self.page_size = int(self.page_size)

    def execute(self, context: Any) -> None:
        print(f"{self.page_size!r} {self.words!r}")


class _Nested:
    template_fields = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"_Nested({self.text!r})"


def test_an_overridden_render_template_fields_runs() -> None:
    with DAG("d", schedule=None, params={"n": 7}):
        task = _IntAfterRender(
            task_id="t", page_size="{{ params.n * 2 }}", words=["{{ ds }}", _Nested("{{ ds }}")]
        )
    assert overrides_rendering(task)
    assert _run(task)[0] == "14 ['2024-03-05', _Nested('2024-03-05')]"
    assert task.page_size == "{{ params.n * 2 }}"  # the DAG's task is untouched


class _ParamsFromFile(BaseOperator):
    """As SQLExecuteQueryOperator: ``prepare_template`` parses a field read from a file."""

    template_fields: ClassVar[Sequence[str]] = ("query", "parameters")
    template_ext: ClassVar[Sequence[str]] = (".sql", ".json")

    def __init__(self, *, query: str, parameters: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.parameters = parameters

    def prepare_template(self) -> None:
        if isinstance(self.parameters, str):
            import ast

            self.parameters = ast.literal_eval(self.parameters)

    def execute(self, context: Any) -> None:
        print(f"{self.query} {self.parameters!r}")


def test_prepare_template_sees_the_files_content(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("select '{{ ds }}'")
    (tmp_path / "p.json").write_text("{'limit': 3}")
    with DAG("d", schedule=None) as dag:
        task = _ParamsFromFile(task_id="t", query="q.sql", parameters="p.json")
    dag.fileloc = str(tmp_path / "d.py")
    assert _run(task)[0] == "select '2024-03-05' {'limit': 3}"


class _Shouting(BaseOperator):
    template_fields: ClassVar[Sequence[str]] = ("words", "skipped")

    def __init__(self, *, words: Any, skipped: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.words = words
        self.skipped = skipped

    def render_template(
        self,
        content: Any,
        context: Any,
        jinja_env: jinja2.Environment | None = None,
        seen_oids: set[int] | None = None,
    ) -> Any:
        rendered = super().render_template(content, context, jinja_env, seen_oids)
        return rendered.upper() if isinstance(rendered, str) else rendered

    def _do_render_template_fields(
        self, parent: Any, template_fields: Any, context: Any, jinja_env: Any, seen_oids: Any
    ) -> None:
        fields = [name for name in template_fields if name != "skipped"]
        super()._do_render_template_fields(parent, fields, context, jinja_env, seen_oids)

    def execute(self, context: Any) -> None:
        print(f"{self.words!r} {self.skipped}")


def test_overridden_render_template_applies_to_every_element() -> None:
    with DAG("d", schedule=None):
        task = _Shouting(task_id="t", words={"a": ["x {{ ds }}"]}, skipped="{{ ds }}")
    assert _run(task)[0] == "{'a': ['X 2024-03-05']} {{ ds }}"


def test_operators_that_override_nothing_keep_airlanes_renderer() -> None:
    with DAG("d", schedule=None):
        bash = BashOperator(task_id="b", bash_command="echo")
        python = PythonOperator(task_id="p", python_callable=print)
    assert not overrides_rendering(bash)
    assert not overrides_rendering(python)


def test_render_template_with_an_explicit_environment() -> None:
    with DAG("d", schedule=None, params={"who": "x"}):
        task = _Shouting(task_id="t", words="", skipped="")
    env = jinja2.Environment()
    env.globals["greeting"] = "hi"
    rendered = task.render_template(["{{ greeting }} {{ who }}"], {"who": "you"}, jinja_env=env)
    assert rendered == ["HI YOU"]


# ---- XComArg.resolve, SkipMixin.skip -------------------------------------------------------


class _Resolves(BaseOperator):
    def __init__(self, *, arg: XComArg, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arg = arg

    def execute(self, context: Any) -> None:
        try:
            print(repr(self.arg.resolve(context)))
        except XComNotFound as err:
            print(err)


def test_xcom_arg_resolve_follows_airflow() -> None:
    with DAG("d", schedule=None):
        push = BashOperator(task_id="push", bash_command="echo")
        value = _Resolves(task_id="value", arg=push.output)
        missing_return = _Resolves(task_id="missing_return", arg=XComArg(push))
        missing_key = _Resolves(task_id="missing_key", arg=push.output["other"])
        mapped = BashOperator.partial(task_id="mapped").expand(bash_command=["a", "b"])
        of_mapped = _Resolves(task_id="of_mapped", arg=XComArg(mapped))
    xcoms = InMemoryXComs()
    xcoms.set("push", -1, "return_value", {"a": 1})
    xcoms.set("mapped", 0, "return_value", "A")
    xcoms.set("mapped", 1, "return_value", "B")
    assert _run(value, xcoms)[0] == "{'a': 1}"
    assert _run(missing_return)[0] == "None"
    assert _run(missing_key, xcoms)[0] == (
        'XComArg result from push at d with key="other" is not found!'
    )
    assert _run(of_mapped, xcoms)[0] == "['A', 'B']"


class _Skips(BaseOperator):
    def __init__(self, *, skip_ids: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.skip_ids = skip_ids

    def execute(self, context: Any) -> None:
        from airlane.sdk.operators.python import SkipMixin

        dag = context["dag"]
        SkipMixin().skip(context["ti"], [dag.task_dict[i] for i in self.skip_ids])


def test_skipmixin_skip_skips_direct_downstream_tasks_only() -> None:
    with DAG("d", schedule=None):
        first = _Skips(task_id="first", skip_ids=["b"])
        far = _Skips(task_id="far", skip_ids=["c"])
        a, b, c = (BashOperator(task_id=t, bash_command="echo") for t in "abc")
        first >> [a, b]
        far >> a >> c
    lines: list[str] = []
    outcome = _outcome(first, InMemoryXComs(), lines)
    assert outcome.state is TaskInstanceState.SUCCESS
    assert outcome.follow == ("a",)
    refused = _outcome(far, InMemoryXComs(), lines)
    assert refused.state is TaskInstanceState.FAILED
    assert "not downstream: ['c']" in (refused.error or "")


# ---- helpers, module loading, lineage -----------------------------------------------------


def test_helpers_module_loading_and_the_lineage_collector() -> None:
    airflow_compat.install()
    from airflow.lineage.hook import get_hook_lineage_collector
    from airflow.utils.helpers import exactly_one, merge_dicts
    from airflow.utils.module_loading import import_string, qualname

    assert merge_dicts({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": 3}, "l": [2]}) == {
        "a": {"b": 3, "c": 2},
        "l": [2],
    }
    assert exactly_one(None, "x", 0)
    assert not exactly_one("x", "y")
    with pytest.raises(ValueError, match="Use `\\*` to unpack"):
        exactly_one([1, 2])
    assert import_string("airlane.sdk.xcom_arg.XComArg") is XComArg
    assert qualname(XComArg) == "airlane.sdk.xcom_arg.XComArg"
    with pytest.raises(ImportError, match='does not define a "Nope"'):
        import_string("airlane.sdk.xcom_arg.Nope")
    collector = get_hook_lineage_collector()
    collector.add_input_asset(None, uri="s3://bucket/key")
    collector.add_extra(context=None, key="sql", value="select 1")
    assert collector.collected_assets.inputs == []
    assert not collector.has_collected


# ---- the decorator set providers build @task.<name> from ----------------------------------


def test_task_decorator_factory_and_fields_recorded_after_execution() -> None:
    airflow_compat.install()
    from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory
    from airflow.sdk.definitions._internal.types import SET_DURING_EXECUTION

    class _Built(DecoratedOperator):
        template_fields: ClassVar[Sequence[str]] = ("op_args", "op_kwargs", "query")
        overwrite_rtif_after_execution = True

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.query: Any = SET_DURING_EXECUTION

        def execute(self, context: Any) -> Any:
            self.query = self.python_callable(*self.op_args, **self.op_kwargs)
            return self.query

    def built_task(python_callable: Any = None, **kwargs: Any) -> Any:
        return task_decorator_factory(python_callable, decorated_operator_class=_Built, **kwargs)

    with DAG("d", schedule=None) as dag:

        @built_task(retries=2)
        def make(table: str) -> str:
            return f"select * from {table}"

        made = make("{{ params.get('table', 'pets') }}")
        again = make.override(task_id="again")("t")
    op = made.operator
    assert isinstance(op, _Built)
    assert (op.task_id, op.retries, op.multiple_outputs) == ("make", 2, False)
    assert again.operator.task_id == "again"
    assert repr(op.query) == "DYNAMIC (set during execution)"
    recorded: list[dict[str, Any]] = []
    info = RunInfo(dag.dag_id, "run1", WHEN, WHEN, WHEN, {})
    env = ExecutionEnv(xcoms=InMemoryXComs(), log=print, on_rendered=recorded.append)
    outcome = asyncio.run(execute_task(op, dag, TaskRequest(info, TIKey("make"), 1, 0), env))
    assert outcome.state is TaskInstanceState.SUCCESS, outcome.error
    assert recorded[0]["op_args"] == ["pets"]
    assert recorded[-1]["query"] == "select * from pets"


def test_task_attributes_are_looked_up_in_the_providers_task_decorators() -> None:
    from airlane import task

    with pytest.raises(AttributeError, match="task decorator 'no_such_kind' not found"):
        _ = task.no_such_kind
    with pytest.raises(AttributeError, match="has no attribute '__wrapped__'"):
        _ = task.__wrapped__
