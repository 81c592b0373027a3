"""TaskFlow in the Airflow 2 style (airflow.decorators)."""

from datetime import datetime

from airflow.decorators import dag, task


@dag(schedule_interval=None, start_date=datetime(2021, 1, 1), catchup=False)
def taskflow_airflow2():
    @task(multiple_outputs=True)
    def extract():
        return {"x": 2, "y": 3}

    @task
    def multiply(x, y):
        return x * y

    values = extract()
    multiply(values["x"], values["y"])


taskflow_airflow2()
