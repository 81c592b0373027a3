"""A run's deadlines and a DAG's deadline alerts (handlers: :mod:`airlane.api.deadlines`).

Airflow 3.3 serves them under its UI's private prefix (``/ui/dags/{dag_id}/dagRuns/
{dag_run_id}/deadlines``, ``/ui/dags/{dag_id}/deadlineAlerts``); Airlane under ``/api/v2``,
with Airflow's response shapes (DeadlineCollectionResponse, DeadlineAlertCollectionResponse).
"""

from __future__ import annotations

from airlane.api.spec.notation import Paths, Schema, collection, model, op, path_params

SCHEMAS: dict[str, Schema] = {
    "DeadlineResponse": model(
        {
            "id": "uuid",
            "deadline_time": "dt",
            "missed": "bool",
            "created_at": "dt",
            "dag_id": "str",
            "dag_run_id": "str",
            "alert_id": "uuid?",
            "alert_name": "str?",
        }
    ),
    "DeadlineCollectionResponse": collection("deadlines", "DeadlineResponse"),
    "DeadlineAlertResponse": model(
        {
            "id": "uuid",
            "name": "str?",
            "reference_type": "str",
            "interval": "num?",
            "created_at": "dt",
        }
    ),
    "DeadlineAlertCollectionResponse": collection("deadline_alerts", "DeadlineAlertResponse"),
}

PATHS: Paths = {
    "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/deadlines": {
        "get": op(
            "get_deadlines",
            "Deadlines",
            "DeadlineCollectionResponse",
            params=path_params("dag_id", "dag_run_id"),
        ),
    },
    "/api/v2/dags/{dag_id}/deadlineAlerts": {
        "get": op(
            "get_dag_deadline_alerts",
            "Deadlines",
            "DeadlineAlertCollectionResponse",
            params=path_params("dag_id"),
        ),
    },
}
