"""The authoring SDK: DAG arguments, wiring, task groups, TaskFlow, mapping, errors."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from airlane import (
    DAG,
    BashOperator,
    EmptyOperator,
    Label,
    Param,
    PythonOperator,
    TaskGroup,
    TriggerRule,
    chain,
    cross_downstream,
    dag,
    task,
    task_group,
)
from airlane.sdk.exceptions import AirflowException, DuplicateTaskIdFound, ParamValidationError
from airlane.sdk.mapped import MappedOperator


def ids(tasks: object) -> set[str]:
    return {t.task_id for t in tasks}  # type: ignore[attr-defined]


def test_context_manager_and_dag_argument_both_register_tasks() -> None:
    with DAG("d1", schedule=None) as d1:
        a = EmptyOperator(task_id="a")
    d2 = DAG("d2", schedule=None)
    b = EmptyOperator(task_id="b", dag=d2)
    assert d1.task_dict == {"a": a}
    assert d2.task_dict == {"b": b}
    assert a.dag is d1


def test_default_args_fill_what_the_task_does_not_set() -> None:
    default_args = {
        "retries": 3,
        "retry_delay": timedelta(seconds=7),
        "owner": "ana",
        "bash_command": "x",
    }
    with DAG("d", schedule=None, default_args=default_args):
        a = BashOperator(task_id="a", bash_command="echo a")
        b = BashOperator(task_id="b", retries=0)
        c = PythonOperator(task_id="c", python_callable=print)
    assert (a.retries, a.retry_delay, a.owner) == (3, timedelta(seconds=7), "ana")
    assert b.retries == 0
    assert b.bash_command == "x"  # default_args reach subclass arguments too
    assert c.retries == 3


def test_zero_retry_delay_is_kept() -> None:
    with DAG("d", schedule=None):
        now = EmptyOperator(task_id="now", retries=1, retry_delay=timedelta(0))
        seconds = EmptyOperator(task_id="seconds", retry_delay=2.5)
        default = EmptyOperator(task_id="default")
    assert now.retry_delay == timedelta(0)
    assert seconds.retry_delay == timedelta(seconds=2.5)
    assert default.retry_delay == timedelta(seconds=300)


def test_schedule_interval_and_validation() -> None:
    assert DAG(
        "d", schedule_interval=timedelta(seconds=10), start_date=datetime(2024, 1, 1)
    ).schedule == timedelta(seconds=10)
    assert DAG("d", schedule="@daily").schedule == "@daily"
    assert DAG("d").schedule is None
    with pytest.raises(AirflowException, match="Invalid schedule 'every day'"):
        DAG("d", schedule="every day")
    with pytest.raises(AirflowException, match="only one of"):
        DAG("d", schedule="@daily", schedule_interval="@daily")


def test_naive_start_date_is_utc() -> None:
    d = DAG("d", schedule="@daily", start_date=datetime(2024, 1, 1))
    assert d.start_date is not None
    assert d.start_date.utcoffset() == timedelta(0)
    assert d.timezone == "UTC"


def test_shift_operators_with_tasks_and_lists() -> None:
    with DAG("d", schedule=None):
        a, b, c, d_ = (EmptyOperator(task_id=x) for x in "abcd")
        result = a >> [b, c]
        assert result == [b, c]
        [b, c] >> d_
        d_ << a
    assert ids(a.downstream_list) == {"b", "c", "d"}
    assert d_.upstream_task_ids == {"a", "b", "c"}
    with pytest.raises(TypeError):
        _ = [a] >> [b]  # type: ignore[operator]


def test_set_upstream_downstream_chain_and_cross_downstream() -> None:
    with DAG("d", schedule=None):
        t = {x: EmptyOperator(task_id=x) for x in "abcdefgh"}
        t["a"].set_downstream(t["b"])
        t["c"].set_upstream(t["b"])
        chain(t["c"], [t["d"], t["e"]], [t["f"], t["g"]], t["h"])
        cross_downstream([t["a"], t["b"]], [t["g"], t["h"]])
    assert t["d"].downstream_task_ids == {"f"}
    assert t["e"].downstream_task_ids == {"g"}
    assert t["h"].upstream_task_ids == {"f", "g", "a", "b"}
    with pytest.raises(ValueError, match="different length"):
        chain([t["a"]], [t["b"], t["c"]])


def test_edges_across_dags_are_refused() -> None:
    a = EmptyOperator(task_id="a", dag=DAG("one"))
    b = EmptyOperator(task_id="b", dag=DAG("two"))
    with pytest.raises(AirflowException, match="more than one DAG"):
        a >> b


def test_task_without_dag_joins_its_partner_dag() -> None:
    with DAG("d", schedule=None) as d:
        a = EmptyOperator(task_id="a")
    loose = EmptyOperator(task_id="loose")
    a >> loose
    assert loose.dag is d
    assert "loose" in d.task_dict


def test_task_groups_prefix_ids_and_wire_roots_and_leaves() -> None:
    with DAG("d", schedule=None) as d:
        start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
        with TaskGroup("g", tooltip="group") as g:
            a = EmptyOperator(task_id="a")
            with TaskGroup("inner"):
                b = EmptyOperator(task_id="b")
            a >> b
        with TaskGroup("flat", prefix_group_id=False):
            flat = EmptyOperator(task_id="flat_task")
        start >> g >> end
    assert b.task_id == "g.inner.b"
    assert flat.task_id == "flat_task"
    assert start.downstream_task_ids == {"g.a"}
    assert end.upstream_task_ids == {"g.inner.b"}
    assert {grp.group_id for grp in d.task_group.iter_groups()} == {"g", "g.inner", "flat"}


def test_duplicate_ids_and_bad_arguments_fail_at_definition() -> None:
    with DAG("d", schedule=None):
        EmptyOperator(task_id="a")
        with pytest.raises(DuplicateTaskIdFound, match="'a' has already been added"):
            EmptyOperator(task_id="a")
        with pytest.raises(AirflowException, match="unknown trigger_rule 'sometimes'"):
            EmptyOperator(task_id="b", trigger_rule="sometimes")
        with pytest.raises(
            AirflowException, match="Invalid arguments were passed to EmptyOperator"
        ):
            EmptyOperator(task_id="c", colour="blue")
        with pytest.raises(AirflowException, match="alphanumeric"):
            EmptyOperator(task_id="has space")
    legacy = PythonOperator(task_id="legacy", python_callable=print, provide_context=True)
    assert legacy.task_id == "legacy"


def test_trigger_rule_enum_values() -> None:
    with DAG("d", schedule=None):
        a = EmptyOperator(task_id="a", trigger_rule=TriggerRule.ONE_FAILED)
        b = EmptyOperator(task_id="b", trigger_rule="dummy")
    assert a.trigger_rule is TriggerRule.ONE_FAILED
    assert b.trigger_rule is TriggerRule.ALWAYS


def test_taskflow_wires_xcom_args_and_dedupes_ids() -> None:
    with DAG("d", schedule=None) as d:

        @task
        def make() -> dict[str, int]:
            return {"a": 1}

        @task
        def use(x: int) -> int:
            return x

        out = make()
        use(out["a"])
        make()
        renamed = make.override(task_id="custom", retries=4)()
    assert set(d.task_dict) == {"make", "use", "make__1", "custom"}
    assert d.task_dict["use"].upstream_task_ids == {"make"}
    assert d.task_dict["make"].multiple_outputs is True  # inferred from the dict return type
    assert renamed.operator.retries == 4


def test_taskflow_checks_arguments_at_definition() -> None:
    with DAG("d", schedule=None):

        @task
        def needs(x, ti=None):  # type: ignore[no-untyped-def]
            return x

        needs(1)
        with pytest.raises(TypeError, match="needs\\(\\)"):
            needs()


def test_dag_decorator_builds_params_from_arguments() -> None:
    @dag(schedule=None, tags=["t"])
    def pipeline(limit: int = 5) -> None:
        """Docs of the pipeline."""
        EmptyOperator(task_id="only")

    built = pipeline()
    assert built.dag_id == "pipeline"
    assert built.params["limit"] == 5
    assert built.doc_md == "Docs of the pipeline."
    assert built.entered


def test_task_group_decorator() -> None:
    with DAG("d", schedule=None) as d:

        @task_group
        def section() -> None:
            EmptyOperator(task_id="x")

        first = section()
        second = section()
    assert isinstance(first, TaskGroup)
    assert set(d.task_dict) == {"section.x", "section__1.x"}
    assert second.group_id == "section__1"


def test_partial_expand_creates_a_mapped_operator() -> None:
    with DAG("d", schedule=None, default_args={"retries": 2}) as d:
        src = EmptyOperator(task_id="src")

        @task
        def listing() -> list[int]:
            return [1]

        mapped = BashOperator.partial(task_id="m", env={"A": "1"}).expand(
            bash_command=["echo 1", "echo 2"]
        )
        mapped_tf = task(lambda x: x, task_id="tf").expand(x=listing())
        src >> mapped
    assert isinstance(mapped, MappedOperator)
    assert mapped.retries == 2
    assert mapped.literal_lengths() == {"bash_command": 2}
    assert d.task_dict["tf"].upstream_task_ids == {"listing"}
    assert mapped_tf.operator.task_id == "tf"
    with pytest.raises(ValueError, match="must be a list, dict or XComArg"):
        BashOperator.partial(task_id="bad", dag=d).expand(bash_command="echo")
    with pytest.raises(TypeError, match="missing required argument 'task_id'"):
        BashOperator.partial()


def test_params_are_validated_with_json_schema() -> None:
    param = Param(5, type="integer", minimum=1)
    assert param.resolve() == 5
    assert param.resolve(3) == 3
    with pytest.raises(ParamValidationError):
        param.resolve(0)
    with pytest.raises(ParamValidationError):
        Param(type="string").resolve()


def test_edge_labels_record_the_label() -> None:
    with DAG("d", schedule=None) as d:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        a >> Label("when ready") >> b
    assert b.upstream_task_ids == {"a"}
    assert d.edge_info["a"]["b"] == {"label": "when ready"}


def test_output_property_and_xcomarg_wiring() -> None:
    with DAG("d", schedule=None):
        a = BashOperator(task_id="a", bash_command="echo 1")
        b = PythonOperator(task_id="b", python_callable=print, op_args=[a.output])
    assert b.upstream_task_ids == {"a"}
    with pytest.raises(TypeError, match="not iterable"):
        list(a.output)


def test_fail_fast_and_fail_stop_refuse_other_trigger_rules() -> None:
    from airlane.dag_loader.serialize import serialize_dag
    from airlane.sdk.exceptions import FailFastDagInvalidTriggerRule

    with DAG("ff", schedule=None, fail_fast=True) as fast:
        EmptyOperator(task_id="a")
        with pytest.raises(FailFastDagInvalidTriggerRule, match="only have all_success"):
            EmptyOperator(task_id="c", trigger_rule="all_done")
    assert fast.fail_fast
    assert fast.fail_stop
    with (
        DAG("fs", schedule=None, fail_stop=True) as stop,
        pytest.raises(FailFastDagInvalidTriggerRule),
    ):
        EmptyOperator(task_id="c", trigger_rule="one_failed")
    assert serialize_dag(stop)["fail_stop"] is True


def test_an_executor_is_refused_and_slas_warn_as_in_airflow_3() -> None:
    with DAG("ex", schedule=None):
        with pytest.raises(AirflowException, match="executor 'CeleryExecutor', which is not"):
            EmptyOperator(task_id="a", executor="CeleryExecutor")
        with pytest.warns(UserWarning, match="SLA feature is removed"):
            EmptyOperator(task_id="b", sla=timedelta(hours=1))
    with pytest.warns(UserWarning, match="SLA feature is removed"):
        DAG("sla", schedule=None, sla_miss_callback=print)


def test_pre_and_post_execute_callables_run_and_run_as_user_is_refused() -> None:
    seen: list[object] = []
    with DAG("hooks", schedule=None):
        op = EmptyOperator(
            task_id="a",
            pre_execute=lambda context: seen.append(("pre", context["x"])),
            post_execute=lambda context, result: seen.append(("post", result)),
        )
        with pytest.raises(AirflowException, match="run_as_user='etl'"):
            EmptyOperator(task_id="b", run_as_user="etl")
    op.pre_execute({"x": 1})  # type: ignore[typeddict-item]
    op.post_execute({"x": 1}, 42)  # type: ignore[typeddict-item]
    assert seen == [("pre", 1), ("post", 42)]


def test_template_undefined_replaces_strict_undefined() -> None:
    import jinja2

    from airlane.sdk.templating import get_environment

    with DAG("lenient", schedule=None, template_undefined=jinja2.Undefined) as lenient:
        pass
    assert get_environment(lenient).from_string("[{{ missing }}]").render() == "[]"
    with DAG("strict", schedule=None) as strict:
        pass
    with pytest.raises(jinja2.UndefinedError):
        get_environment(strict).from_string("{{ missing }}").render()


def test_legacy_and_decorator_arguments_are_honoured_or_refused() -> None:
    from airlane.sdk import Param
    from airlane.sdk.params import params_from_dump

    with DAG("legacy", schedule=None) as dag:
        EmptyOperator(task_id="with_context", provide_context=True)  # (nothing to do: as in 2.x)
        with pytest.raises(AirflowException, match="provide_context=False"):
            EmptyOperator(task_id="no_context", provide_context=False)
        with pytest.raises(AirflowException, match="Invalid arguments"):
            EmptyOperator(task_id="made_up", retry_exponential_backoff_max=60)

        @task.sensor(multiple_outputs=True)
        def ready() -> bool:
            return True

        with pytest.raises(TypeError, match=r"@task\.sensor takes no multiple_outputs"):
            ready()
    assert "with_context" in dag.task_dict
    with pytest.warns(DeprecationWarning, match="full_filepath"):
        DAG("old", schedule=None, full_filepath="/dags/old.py")
    param = Param(3, "rows", source="task", type="integer")
    assert param.schema == {"type": "integer"}  # (not a JSON Schema keyword)
    dumped = {"n": param.dump()}
    assert params_from_dump(dumped)["n"] == 3
    assert params_from_dump(dumped).get_param("n").source == "task"


def test_a_task_with_dates_of_its_own_narrower_than_its_dags_is_refused() -> None:
    """Airflow creates no instance of a task in runs outside its own dates; Airlane refuses
    such a task of a scheduled DAG at load (a task that inherits the DAG's dates loads)."""
    from airlane.dag_loader.validate import validate_dag

    start = datetime(2024, 1, 1)
    with DAG(
        "inherits", schedule="@daily", start_date=start, default_args={"start_date": start}
    ) as inherits:
        EmptyOperator(task_id="same")
    validate_dag(inherits)
    with DAG("later", schedule="@daily", start_date=start) as later:
        EmptyOperator(task_id="old")
        EmptyOperator(task_id="new", start_date=datetime(2024, 6, 1))
    with pytest.raises(AirflowException, match="Task new of DAG later starts on 2024-06-01"):
        validate_dag(later)
    with DAG("ending", schedule="@daily", start_date=start) as ending:
        EmptyOperator(task_id="retired", end_date=datetime(2024, 3, 1))
    with pytest.raises(AirflowException, match="Task retired of DAG ending ends on 2024-03-01"):
        validate_dag(ending)
    # run by hand only: every run is made now (Airflow leaves a task out only before its start)
    with DAG("manual", schedule=None) as manual:
        EmptyOperator(task_id="far", end_date=datetime(2099, 1, 1))
        EmptyOperator(task_id="late", start_date=datetime(2024, 6, 1))
    validate_dag(manual)


def test_an_executor_config_warns_that_no_worker_reads_it() -> None:
    with (
        DAG("k8s", schedule=None),
        pytest.warns(UserWarning, match="only Airflow's Kubernetes executor reads"),
    ):
        EmptyOperator(task_id="pod", executor_config={"pod_override": {}})
