"""Running one try of a task, wherever it runs (a worker's task process, the worker itself,
or ``dags test`` / ``tasks test`` in the caller's process).

- ``task_runner``: render, execute, classify the outcome (Airflow's try semantics)
- ``context_builder``, ``runtime_ti``: the template context and the ``ti`` a task sees
- ``redis_xcom``, ``redis_variables``: XComs and Variables backed by Redis
- ``tracebacks``: a failed try's traceback without Airlane's own frames
- ``local_runner``: a whole DAG run in process (``dags test``, ``DAG.test()``)
"""
