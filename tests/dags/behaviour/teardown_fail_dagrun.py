"""A teardown with on_failure_fail_dagrun fails after its work succeeded: the run fails."""

from airflow.sdk import DAG, setup, task, teardown

EXPECTED = {
    "dag_id": "teardown_fail_dagrun_behaviour",
    "state": "failed",
    "tasks": {"make_cluster": "success", "compute": "success", "drop_cluster": "failed"},
}


@setup
def make_cluster():
    return "cluster-1"


@task
def compute(cluster):
    return f"computed on {cluster}"


@teardown(on_failure_fail_dagrun=True)
def drop_cluster(cluster):
    raise ValueError(f"could not drop {cluster}")


with DAG("teardown_fail_dagrun_behaviour", schedule=None) as dag:
    cluster = make_cluster()
    compute(cluster) >> drop_cluster(cluster)
