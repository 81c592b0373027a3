"""TaskFlow in Airflow 3 style: return values travel between tasks as XCom."""

import pendulum
from airflow.sdk import dag, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "taskflow"],
)
def taskflow_etl(discount: float = 0.1):
    """Orders are extracted, priced with a discount param, and summarised."""

    @task
    def extract() -> dict:
        return {"1001": 301.27, "1002": 433.21, "1003": 502.22}

    @task(multiple_outputs=True)
    def transform(orders: dict, params=None) -> dict:
        rate = 1 - float(params["discount"])
        total = sum(orders.values()) * rate
        return {"total": round(total, 2), "count": len(orders)}

    @task
    def load(total: float, count: int) -> str:
        message = f"{count} orders, total {total:.2f}"
        print(message)
        return message

    summary = transform(extract())
    load(summary["total"], summary["count"])


taskflow_etl()
