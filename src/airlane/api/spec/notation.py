"""The small notation the resources describe themselves in, and the builders of operations.

Schemas follow Airflow 3's public API document (names, fields, which are required and which
nullable) for the resources Airlane shares with it. Fields are written in a small notation:
``str``, ``int``, ``num``, ``bool``, ``dt`` (date-time), ``uuid``, ``obj``, ``any``,
``[X]`` (array of X), a schema name, and a trailing ``?`` for optional and nullable.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
#: path template -> method -> operation
Paths = dict[str, dict[str, Any]]

TYPES: dict[str, Schema] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "num": {"type": "number"},
    "bool": {"type": "boolean"},
    "dt": {"type": "string", "format": "date-time"},
    "uuid": {"type": "string", "format": "uuid"},
    "obj": {"type": "object", "additionalProperties": True},
    "any": {},
}

ERRORS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Content Too Large",
    422: "Validation Error",
}


def type_schema(spec: str) -> Schema:
    """The schema of one field written in the notation (without its ``?``)."""
    if spec.startswith("["):
        return {"type": "array", "items": type_schema(spec[1:-1])}
    if spec in TYPES:
        return dict(TYPES[spec])
    return {"$ref": f"#/components/schemas/{spec}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def model(fields: dict[str, str], *, closed: bool = False) -> Schema:
    """An object schema from ``{field: notation}``; ``closed`` refuses other fields."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in fields.items():
        optional = spec.endswith("?")
        schema = type_schema(spec.rstrip("?"))
        if optional:
            schema = nullable(schema)
        else:
            required.append(name)
        properties[name] = schema
    result: Schema = {"type": "object", "properties": properties, "required": required}
    if closed:
        result["additionalProperties"] = False
    return result


def refine(schema: Schema, **properties: Schema) -> Schema:
    """``schema`` with some of its properties' schemas replaced by fuller ones (bounds, enums,
    lengths) than the notation says; which fields are required is left as it was."""
    unknown = set(properties) - set(schema["properties"])
    if unknown:
        raise KeyError(f"no such properties: {sorted(unknown)}")
    schema["properties"].update(properties)
    return schema


def collection(field: str, item: str) -> Schema:
    """A page of a list as Airflow returns it: the items and ``total_entries``."""
    return model({field: f"[{item}]", "total_entries": "int"})


def param(name: str, where: str, schema: Schema, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


def path_params(*names: str) -> list[dict[str, Any]]:
    ints = {"map_index", "try_number", "import_error_id"}
    return [param(n, "path", TYPES["int" if n in ints else "str"]) for n in names]


def query_list(name: str) -> dict[str, Any]:
    """A query parameter that may repeat (``?state=a&state=b``)."""
    return param(name, "query", {"type": "array", "items": {"type": "string"}})


def op(
    op_id: str,
    tag: str,
    response: str | None,
    *,
    params: list[dict[str, Any]] | None = None,
    body: str | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (401, 403, 404, 422),
    public: bool = False,
    body_required: bool = True,
) -> dict[str, Any]:
    """One operation: its id and tag, the schema of its answer (None: no body), its
    parameters and body schema, the errors it documents (a body adds 413), and ``public`` for
    one that needs no token."""
    responses: dict[str, Any] = {}
    if any(p["name"] == "order_by" for p in params or ()):
        # Airflow's SortParam: a field the list cannot sort by, or more than ten, is a 400
        errors = (*errors, 400)
        for found in params or ():
            if found["name"] == "order_by" and found["schema"].get("type") == "array":
                found["schema"]["maxItems"] = 10
    if response is None:
        responses[str(status)] = {"description": "Successful Response"}
    else:
        responses[str(status)] = {
            "description": "Successful Response",
            "content": {"application/json": {"schema": type_schema(response)}},
        }
    for code in sorted(set(errors) | ({413} if body else set())):
        schema = "HTTPValidationError" if code == 422 else "HTTPExceptionResponse"
        responses[str(code)] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": type_schema(schema)}},
        }
    operation: dict[str, Any] = {"operationId": op_id, "tags": [tag], "responses": responses}
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": type_schema(body)}},
        }
    if public:
        operation["security"] = []
    return operation
