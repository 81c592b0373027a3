"""Human-in-the-loop details: what a HITL task asks, the answer, and where both are kept.

A HITL operator writes its :class:`HITLRequest` when its try starts waiting; a person's answer
(through the API or the UI) or the ``defaults`` taken after ``response_timeout`` is its
:class:`HITLResponse`. The first response of a try wins. Where they live depends on the
process: a worker installs a Redis store with :func:`use_hitl_store`; ``dags test`` installs
none, as nobody can answer there (see :func:`current_hitl_store`).

:func:`response_problems` checks an answer against its request: the API refuses a bad answer
with these problems, the operator fails on one (as Airflow's ``execute_complete`` does).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from airlane.sdk.exceptions import ParamValidationError
from airlane.sdk.params import Param


@dataclass(frozen=True, slots=True)
class HITLIdent:
    """The task instance a HITL detail belongs to."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1


@dataclass(frozen=True, slots=True)
class HITLRequest:
    """What one try asks (Airflow's HITLDetail request fields, and when it gives up)."""

    options: tuple[str, ...]
    subject: str
    try_number: int
    created_at_s: float
    body: str | None = None
    defaults: tuple[str, ...] | None = None
    multiple: bool = False
    #: serialized params: name -> {"value", "description", "schema"}
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: [{"id": ..., "name": ...}]; empty: anyone may answer
    assigned_users: tuple[dict[str, str], ...] = ()
    timeout_at_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HITLRequest:
        defaults = data.get("defaults")
        return cls(
            options=tuple(data["options"]),
            subject=str(data["subject"]),
            try_number=int(data["try_number"]),
            created_at_s=float(data["created_at_s"]),
            body=data.get("body"),
            defaults=None if defaults is None else tuple(defaults),
            multiple=bool(data.get("multiple", False)),
            params=dict(data.get("params") or {}),
            assigned_users=tuple(data.get("assigned_users") or ()),
            timeout_at_s=data.get("timeout_at_s"),
        )


@dataclass(frozen=True, slots=True)
class HITLResponse:
    """The answer to one try: a person's (``responded_by``) or the defaults after the timeout."""

    chosen_options: tuple[str, ...]
    params_input: dict[str, Any]
    responded_at_s: float
    try_number: int
    responded_by: dict[str, str] | None = None

    @property
    def timed_out(self) -> bool:
        return self.responded_by is None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HITLResponse:
        return cls(
            chosen_options=tuple(data["chosen_options"]),
            params_input=dict(data.get("params_input") or {}),
            responded_at_s=float(data["responded_at_s"]),
            try_number=int(data["try_number"]),
            responded_by=data.get("responded_by"),
        )


@dataclass(frozen=True, slots=True)
class HITLDetail:
    request: HITLRequest
    response: HITLResponse | None = None


def _is_param(value: Any) -> bool:
    return isinstance(value, Mapping) and all(k in value for k in ("description", "schema"))


def request_param(entry: Any) -> Param:
    """A serialized param of a request as a Param again (a bare value: one without schema)."""
    if _is_param(entry):
        return Param(entry.get("value"), entry.get("description"), **dict(entry["schema"]))
    return Param(entry)


def response_problems(
    request: HITLRequest, chosen_options: Any, params_input: Any
) -> list[tuple[str, str]]:
    """What is wrong with an answer, as (field, message) pairs; empty when it is acceptable.

    Airflow's rules: at least one option, each one of the request's; one only unless
    ``multiple``; ``params_input`` names exactly the request's params (or is empty) and each
    value matches its param's schema."""
    problems = _option_problems(request, chosen_options)
    if not isinstance(params_input, Mapping):
        return [*problems, ("params_input", "Input should be a valid dictionary")]
    return problems + _params_problems(request, params_input)


def _option_problems(request: HITLRequest, chosen: Any) -> list[tuple[str, str]]:
    if not isinstance(chosen, list) or not all(isinstance(o, str) for o in chosen):
        return [("chosen_options", "Input should be a valid list of strings")]
    if not chosen:
        return [("chosen_options", "List should have at least 1 item after validation, not 0")]
    if unknown := sorted(set(chosen) - set(request.options)):
        return [("chosen_options", f"Responses {unknown} not in {list(request.options)}")]
    if not request.multiple and len(chosen) > 1:
        return [("chosen_options", "Only one option may be chosen when multiple is false")]
    return []


def _params_problems(request: HITLRequest, given: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not given:
        return []
    if request.params and set(given) ^ set(request.params):
        message = f"params_input keys {sorted(given)} do not match params {sorted(request.params)}"
        return [("params_input", message)]
    problems: list[tuple[str, str]] = []
    for key, value in given.items():
        if key not in request.params:
            continue  # a request without params takes what it is given, as Airflow's
        try:
            request_param(request.params[key]).resolve(value)
        except ParamValidationError as err:
            problems.append((f"params_input.{key}", str(err)))
    return problems


class HITLStore(Protocol):
    """Synchronous access to HITL details (called from a task's code, in a thread)."""

    def read(self, ident: HITLIdent) -> HITLDetail | None: ...

    def ask(self, ident: HITLIdent, request: HITLRequest) -> None:
        """Write the request of a new try (any response to an earlier try goes)."""

    def respond(self, ident: HITLIdent, response: HITLResponse) -> HITLResponse:
        """Record ``response`` unless one is there already; the one that is kept."""


class HITLWatch(Protocol):
    """Asynchronous access to HITL details for the process that runs HITL triggers (the
    triggerer), and notice of each answer as it is written (no polling)."""

    async def read(self, ident: HITLIdent) -> HITLDetail | None: ...

    async def respond(self, ident: HITLIdent, response: HITLResponse) -> HITLResponse:
        """Record ``response`` unless one is there already; the one that is kept."""

    def watching(self, ident: HITLIdent) -> AbstractContextManager[asyncio.Event]:
        """An event set whenever an answer to ``ident`` is written, while the block lasts
        (enter it before reading: an answer written after the read is not missed)."""


#: the watch of this process (installed by the triggerer; the latest installed wins)
HITL_WATCH: list[HITLWatch] = []


def current_hitl_watch() -> HITLWatch | None:
    return HITL_WATCH[-1] if HITL_WATCH else None


def hitl_ti_id(ident: HITLIdent, try_number: int) -> str:
    """The ``ti_id`` a HITL trigger is given: the try it waits for (Airflow's is the try's
    task instance UUID, which its trigger looks its detail up by)."""
    return f"{ident.dag_id}|{ident.run_id}|{ident.task_id}|{ident.map_index}|{try_number}"


def parse_hitl_ti_id(ti_id: str) -> tuple[HITLIdent, int]:
    """:func:`hitl_ti_id` read back (ValueError when ``ti_id`` is not one)."""
    dag_id, sep, rest = str(ti_id).partition("|")
    rest, _, try_text = rest.rpartition("|")
    rest, _, index_text = rest.rpartition("|")
    run_id, _, task_id = rest.rpartition("|")
    if not (sep and dag_id and run_id and task_id):
        raise ValueError(f"{ti_id!r} is not the id of a task instance's try")
    return HITLIdent(dag_id, run_id, task_id, int(index_text)), int(try_text)


_store: contextvars.ContextVar[HITLStore | None] = contextvars.ContextVar(
    "airlane_hitl_store", default=None
)


def current_hitl_store() -> HITLStore | None:
    """The store HITL operators use here; None where nobody can answer (``dags test``)."""
    return _store.get()


@contextmanager
def use_hitl_store(store: HITLStore) -> Iterator[None]:
    token = _store.set(store)
    try:
        yield
    finally:
        _store.reset(token)


__all__ = [
    "HITLDetail",
    "HITLIdent",
    "HITLRequest",
    "HITLResponse",
    "HITLStore",
    "HITLWatch",
    "current_hitl_store",
    "current_hitl_watch",
    "hitl_ti_id",
    "parse_hitl_ti_id",
    "request_param",
    "response_problems",
    "use_hitl_store",
]
