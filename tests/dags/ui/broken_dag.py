from airflow import DAG

dag = DAG("broken", schedule=None)
this line is not python
