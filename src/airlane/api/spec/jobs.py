"""Jobs: Airlane's service processes as Airflow's (handlers: :mod:`airlane.api.jobs`)."""

from __future__ import annotations

from airlane.api.spec.common import PAGE, order_by_list
from airlane.api.spec.notation import TYPES, Paths, Schema, collection, op, param

SCHEMAS: dict[str, Schema] = {
    # JobResponse itself is with the task instances (their triggerer_job)
    "JobCollectionResponse": collection("jobs", "JobResponse"),
}

#: what the list sorts by (Airflow's), each also descending with "-"
ORDER_FIELDS = (
    *("id", "dag_id", "state", "job_type", "start_date", "end_date", "latest_heartbeat"),
    *("executor_class", "hostname", "unixname"),
)
_STR, _DT = TYPES["str"], TYPES["dt"]

PATHS: Paths = {
    "/api/v2/jobs": {
        "get": op(
            "get_jobs",
            "Job",
            "JobCollectionResponse",
            params=[
                *PAGE,
                order_by_list(*ORDER_FIELDS),
                *(
                    param(f"{d}_{b}", "query", _DT)
                    for d in ("start_date", "end_date")
                    for b in ("gte", "gt", "lte", "lt")
                ),
                *(param(n, "query", _STR) for n in ("job_state", "job_type", "hostname")),
                param("executor_class", "query", _STR),
                param("is_alive", "query", TYPES["bool"]),
            ],
            errors=(400, 401, 403, 422),
        )
    },
}
