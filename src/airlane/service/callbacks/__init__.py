"""The callbacks role: DAG-level callbacks delivered as arq jobs, off the hot path.

``pending.py`` moves the jobs the coordinator records at each run's end onto arq's queue;
``delivery.py`` is the arq job that runs one in a child process (``callback_process.py``) and
reports it in the run's events; ``service.py`` runs both.
"""
