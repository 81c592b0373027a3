"""A teardown fails after its work succeeded: the run still succeeds (a teardown's failure
counts only with on_failure_fail_dagrun, see teardown_fail_dagrun.py); 2.x imports."""

from airflow import DAG
from airflow.decorators import setup, task, teardown

EXPECTED = {
    "dag_id": "teardown_failure_behaviour",
    "state": "success",
    "tasks": {"make_cluster": "success", "compute": "success", "drop_cluster": "failed"},
}


@setup
def make_cluster():
    return "cluster-1"


@task
def compute(cluster):
    return f"computed on {cluster}"


@teardown
def drop_cluster(cluster):
    raise ValueError(f"could not drop {cluster}")


with DAG("teardown_failure_behaviour", schedule=None) as dag:
    cluster = make_cluster()
    compute(cluster) >> drop_cluster(cluster)
