"""The event (audit) log (handlers and middleware: :mod:`airlane.api.event_logs`)."""

from __future__ import annotations

from airlane.api.spec.common import PAGE, order_by_list, searches
from airlane.api.spec.notation import TYPES, Paths, Schema, collection, model, op, param

#: what the list sorts by (Airflow's, with its aliases), each also descending with "-"
ORDER_FIELDS = (
    *("id", "event_log_id", "dttm", "when", "dag_id", "task_id", "run_id", "event"),
    *("logical_date", "owner", "extra"),
)
#: the ``*_pattern`` and ``*_prefix_pattern`` searches
SEARCHED = ("dag_id", "task_id", "run_id", "owner", "event")

SCHEMAS: dict[str, Schema] = {
    "EventLogResponse": model(
        {
            "event_log_id": "int",
            "when": "dt",
            "dag_id": "str?",
            "task_id": "str?",
            "run_id": "str?",
            "map_index": "int?",
            "try_number": "int?",
            "event": "str",
            "logical_date": "dt?",
            "owner": "str?",
            "extra": "str?",
            "dag_display_name": "str?",
            "task_display_name": "str?",
        }
    ),
    "EventLogCollectionResponse": collection("event_logs", "EventLogResponse"),
}

_STR, _INT, _DT = TYPES["str"], TYPES["int"], TYPES["dt"]
_LIST = {"type": "array", "items": _STR}

PATHS: Paths = {
    "/api/v2/eventLogs": {
        "get": op(
            "get_event_logs",
            "Event Log",
            "EventLogCollectionResponse",
            params=[
                *PAGE,
                order_by_list(*ORDER_FIELDS),
                *(param(name, "query", _STR) for name in SEARCHED),
                param("map_index", "query", _INT),
                param("try_number", "query", _INT),
                param("excluded_events", "query", _LIST),
                param("included_events", "query", _LIST),
                param("before", "query", _DT),
                param("after", "query", _DT),
                *searches(*SEARCHED),
            ],
            errors=(400, 401, 403, 422),
        )
    },
    "/api/v2/eventLogs/{event_log_id}": {
        "get": op(
            "get_event_log",
            "Event Log",
            "EventLogResponse",
            params=[param("event_log_id", "path", _INT)],
        )
    },
}
