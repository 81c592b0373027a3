"""Human-in-the-loop details (handlers: :mod:`airlane.api.hitl`), as Airflow 3.1's."""

from __future__ import annotations

from airlane.api.spec.common import PAGE, order_by, searches
from airlane.api.spec.notation import (
    TYPES,
    Paths,
    Schema,
    collection,
    model,
    op,
    param,
    path_params,
    query_list,
    refine,
)

_DETAIL = {
    "task_instance": "TaskInstanceResponse",
    "options": "[str]",
    "subject": "str",
    "body": "str?",
    "defaults": "[str]?",
    "multiple": "bool",
    "params": "obj",
    "assigned_users": "[HITLUser]",
    "created_at": "dt",
    "responded_by_user": "HITLUser?",
    "responded_at": "dt?",
    "chosen_options": "[str]?",
    "params_input": "obj",
    "response_received": "bool",
}

SCHEMAS: dict[str, Schema] = {
    "HITLUser": model({"id": "str", "name": "str"}),
    "HITLDetail": model(_DETAIL),
    # one try's (Airlane keeps the latest try's request only)
    "HITLDetailHistory": model({**_DETAIL, "task_instance": "TaskInstanceHistoryResponse"}),
    "HITLDetailCollection": collection("hitl_details", "HITLDetail"),
    "HITLDetailResponse": model(
        {
            "responded_by": "HITLUser",
            "responded_at": "dt",
            "chosen_options": "[str]",
            "params_input": "obj",
        }
    ),
    "UpdateHITLDetailPayload": refine(
        model({"chosen_options": "[str]", "params_input": "obj?"}, closed=True),
        chosen_options={"type": "array", "items": {"type": "string"}, "minItems": 1},
    ),
}

_RUN = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}"
#: what the list sorts by (Airflow's), each also descending with "-"
ORDER_FIELDS = (
    *("ti_id", "subject", "responded_at", "created_at", "responded_by_user_id"),
    *("responded_by_user_name", "dag_id", "run_id", "run_after", "rendered_map_index"),
    *("task_instance_operator", "task_instance_state"),
)
_ONE = path_params("dag_id", "dag_run_id", "task_id", "map_index")
_STR, _INT, _BOOL = TYPES["str"], TYPES["int"], TYPES["bool"]
_DT = TYPES["dt"]

_FILTERS = [
    *PAGE,
    param("order_by", "query", {"type": "array", "items": order_by(*ORDER_FIELDS)["schema"]}),
    *searches("dag_id", "task_id"),
    param("task_id", "query", _STR),
    param("map_index", "query", _INT),
    query_list("state"),
    param("response_received", "query", _BOOL),
    query_list("responded_by_user_id"),
    query_list("responded_by_user_name"),
    param("subject_search", "query", _STR),
    param("body_search", "query", _STR),
    *(param(f"created_at_{b}", "query", _DT) for b in ("gte", "gt", "lte", "lt")),
]

PATHS: Paths = {
    _RUN + "/hitlDetails": {
        "get": op(
            "get_hitl_details",
            "Task Instance",
            "HITLDetailCollection",
            params=[*path_params("dag_id", "dag_run_id"), *_FILTERS],
        )
    },
    _RUN + "/taskInstances/{task_id}/{map_index}/hitlDetails": {
        "get": op("get_hitl_detail", "Task Instance", "HITLDetail", params=_ONE),
        "patch": op(
            "update_hitl_detail",
            "Task Instance",
            "HITLDetailResponse",
            params=_ONE,
            body="UpdateHITLDetailPayload",
            errors=(401, 403, 404, 409, 422),
        ),
    },
    _RUN + "/taskInstances/{task_id}/{map_index}/hitlDetails/tries/{try_number}": {
        "get": op(
            "get_hitl_detail_try_detail",
            "Task Instance",
            "HITLDetailHistory",
            params=[*_ONE, param("try_number", "path", TYPES["int"])],
        )
    },
}
