"""The XCom class's own methods inside tasks (``XCom.set``, ``get_one``, ``get_all``,
``delete``), as Airflow 3's task SDK gives them (recorded with real Airflow 3.3.2), and their
async forms (``aconsume``: under real Airflow 3.3.2's ``dags test`` it fails, its in-process
comms having no ``asend``; its workers have one)."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from airflow.sdk.execution_time.xcom import XCom


def produce(ti):
    where = {"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": ti.run_id, "map_index": -1}
    XCom.set("kept", {"a": 1}, **where)
    XCom.set("dropped", "soon gone", **where)
    XCom.delete("dropped", ti.task_id, ti.dag_id, ti.run_id, -1)
    return [1, 2]


def consume(ti):
    where = {"dag_id": ti.dag_id, "task_id": "produce", "run_id": ti.run_id}
    found = {
        "kept": XCom.get_one(key="kept", map_index=-1, **where),
        "dropped": XCom.get_one(key="dropped", map_index=-1, **where),
        "all": XCom.get_all(key="return_value", **where),
        "missing": XCom.get_all(key="nothing", **where),
    }
    print("FOUND", found)
    assert found == {"kept": {"a": 1}, "dropped": None, "all": [[1, 2]], "missing": None}, found


async def aconsume(ti):
    """The async forms, from an async callable on the task's event loop."""
    where = {"dag_id": ti.dag_id, "task_id": "produce", "run_id": ti.run_id}
    kept = await XCom.aget_one(key="kept", map_index=-1, **where)
    every = await XCom.aget_all(key="return_value", **where)
    pulled = await ti.axcom_pull(task_ids="produce", key="kept")
    print("AFOUND", kept, every, pulled)
    assert (kept, every, pulled) == ({"a": 1}, [[1, 2]], {"a": 1}), (kept, every, pulled)


EXPECTED = {
    "dag_id": "xcom_class_methods",
    "state": "success",
    "tasks": {"produce": "success", "consume": "success", "aconsume": "success"},
}

with DAG("xcom_class_methods", schedule=None) as dag:
    PythonOperator(task_id="produce", python_callable=produce) >> [
        PythonOperator(task_id="consume", python_callable=consume),
        PythonOperator(task_id="aconsume", python_callable=aconsume),
    ]
