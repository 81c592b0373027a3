"""One task fanning out to 1,000 no-op tasks."""

from airlane import DAG, PythonOperator

with DAG("fan_out_1000", schedule=None, max_active_tasks=256) as dag:
    root = PythonOperator(task_id="root", python_callable=lambda: None)
    for i in range(1000):
        root >> PythonOperator(task_id=f"leaf_{i:04d}", python_callable=lambda: None)
