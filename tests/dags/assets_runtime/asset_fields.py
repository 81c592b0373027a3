"""An asset-triggered run's fields (tests/integration/test_asset_runs.py): no logical date or
data interval in its context, ``{{ ds }}`` undefined, ``depends_on_past`` not held by it; an
``@asset`` function whose argument names an asset of another DAG file (asset_dags.py)."""

from __future__ import annotations

import pendulum

from airflow.sdk import DAG, Asset, asset, task
from airflow.providers.standard.operators.python import PythonOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")
FIELDS = Asset("fields")
_DATE_KEYS = (
    "logical_date",
    "execution_date",
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "data_interval_start",
    "data_interval_end",
)


with DAG("p_fields", schedule=None, start_date=START):

    @task(outlets=[FIELDS])
    def make() -> None:
        pass

    make()


with DAG("c_fields", schedule=[FIELDS], start_date=START):

    @task(depends_on_past=True)
    def look(**context: object) -> dict[str, object]:
        dag_run = context["dag_run"]
        return {
            "present": [k for k in _DATE_KEYS if k in context],
            "key_str": context["task_instance_key_str"],
            "logical_date": dag_run.logical_date,  # type: ignore[attr-defined]
            "interval": dag_run.data_interval_start,  # type: ignore[attr-defined]
            "run_after": dag_run.run_after.isoformat(),  # type: ignore[attr-defined]
        }

    def _echo(value: str) -> str:
        return value

    templated = PythonOperator(
        task_id="templated", python_callable=_echo, op_args=["{{ ds }}"], depends_on_past=True
    )
    look() >> templated


@asset(schedule=None)
def uses_single(single: Asset) -> dict[str, str]:
    """``single`` is an asset of asset_dags.py, not of this file."""
    return {"name": single.name, "uri": single.uri}
