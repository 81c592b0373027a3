# An Airflow 1.x DAG file: *_operator modules, provide_context, DAG(..) without a context manager.
from datetime import datetime

from airflow import DAG
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.operators.python_operator import PythonOperator


def legacy(**kwargs):
    return kwargs["ti"].xcom_pull(task_ids="say")


dag = DAG("airflow1_style", start_date=datetime(2020, 1, 1), schedule_interval=None, concurrency=4)

say = BashOperator(task_id="say", bash_command="echo legacy", xcom_push=True, dag=dag)
pull = PythonOperator(task_id="pull", python_callable=legacy, provide_context=True, dag=dag)
done = DummyOperator(task_id="done", dag=dag)
say.set_downstream(pull)
done.set_upstream(pull)
