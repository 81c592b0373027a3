"""A task that prints a connection and a sensitive variable, and one that fails with the
password in its error: the log, the events and the API must show ``***`` instead."""

from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.sdk import DAG, BaseHook, Variable


def show():
    conn = BaseHook.get_connection("secret_db")
    print("password is", conn.password)
    print("uri is", conn.get_uri())
    print("extra is", conn.extra_dejson)
    print("login is", conn.login)
    print("api key is", Variable.get("my_api_key"))


def fail():
    conn = BaseHook.get_connection("secret_db")
    raise ValueError(f"cannot log in with {conn.password}")


def from_env():
    print("env password is", BaseHook.get_connection("env_db").password)


with DAG("conn_print", schedule=None):
    PythonOperator(task_id="show", python_callable=show)
    PythonOperator(task_id="fail", python_callable=fail, retries=0)
    PythonOperator(task_id="from_env", python_callable=from_env)
    BashOperator(
        task_id="templated",
        bash_command="echo templated password is $PW on {{ conn.secret_db.host }}",
        env={"PW": "{{ conn.secret_db.password }}"},
    )
