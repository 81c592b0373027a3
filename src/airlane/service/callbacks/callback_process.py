"""The child process that runs one DAG's callbacks (or a dead try's task callbacks): user
code, kept away from the callbacks role (an exception, a hang or a crash here costs one try
of one job). Callbacks read Variables and connections as tasks on workers do: the
environment first, then what is stored in Redis.

``python -m airlane.service.callbacks.callback_process <result fd>``: the request is the JSON
on stdin (:class:`CallbackRequest`), the result the JSON written to the result fd (never to
stdout, where user code prints): ``{"done": [positions], "errors": [...]}``, or
``{"fatal": "..."}`` when the DAG could not be loaded. It dies with its parent (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import redis

from airlane.dag_loader.importer import load_dags
from airlane.queue.keys import Keys
from airlane.sdk.connection_store import use_connection_store
from airlane.sdk.secrets_masker import MaskingFilter, mask_text
from airlane.sdk.variable import use_variable_store
from airlane.service.connections.redis_store import RedisConnectionStore
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.dag_callbacks import (
    LastTI,
    callback_context,
    dag_callbacks,
    run_callbacks,
)
from airlane.service.execution.deadline_callback import (
    call_deadline_callback,
    deadline_context,
    pick_alert,
)
from airlane.service.execution.redis_variables import RedisVariableStore
from airlane.service.execution.redis_xcom import RedisXComs
from airlane.service.execution.task_callbacks import task_callbacks
from airlane.service.worker.task_process import run_info_from_wire, run_info_to_wire

#: what is kept of each error a callback raised (the result pipe carries no megabytes)
ERROR_MAX_CHARS = 2000


def cut_error(text: str) -> str:
    """``text`` with the secrets seen in this process masked, cut to ERROR_MAX_CHARS."""
    text = mask_text(text)
    if len(text) <= ERROR_MAX_CHARS:
        return text
    return f"{text[: ERROR_MAX_CHARS - 20]}... ({len(text)} chars)"


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    redis_url: str
    dags_folder: str | None
    fileloc: str
    success: bool
    reason: str
    run: RunInfo
    last: LastTI | None
    #: positions of the callbacks an earlier try delivered (not called again)
    skip: frozenset[int] = frozenset()
    #: a task callback (TaskCallbackKind's value) of the try ``last``; "" for a DAG callback
    task_kind: str = ""
    #: the set where each delivered callback's position is added as soon as it returned (so a
    #: role killed during a later one does not call it again), kept ``done_ttl_s``
    done_key: str = ""
    done_ttl_s: int = 0
    #: a missed deadline's callback: the alert's position in the DAG's ``deadline`` list (-1:
    #: none), the deadline (epoch seconds) and the run as the REST API gives it
    deadline_index: int = -1
    deadline_s: float = 0.0
    dag_run: dict[str, Any] | None = None
    #: the callable the run's DAG version names for that alert (the file may have changed)
    deadline_path: str = ""

    def encode(self) -> bytes:
        data = {
            "redis_url": self.redis_url,
            "dags_folder": self.dags_folder,
            "fileloc": self.fileloc,
            "success": self.success,
            "reason": self.reason,
            "run": run_info_to_wire(self.run),
            "last": None if self.last is None else asdict(self.last),
            "skip": sorted(self.skip),
            "task_kind": self.task_kind,
            "done_key": self.done_key,
            "done_ttl_s": self.done_ttl_s,
            "deadline_index": self.deadline_index,
            "deadline_s": self.deadline_s,
            "dag_run": self.dag_run,
            "deadline_path": self.deadline_path,
        }
        return orjson.dumps(data)

    @classmethod
    def decode(cls, raw: bytes) -> CallbackRequest:
        data = orjson.loads(raw)
        last = data["last"]
        return cls(
            redis_url=data["redis_url"],
            dags_folder=data["dags_folder"],
            fileloc=data["fileloc"],
            success=bool(data["success"]),
            reason=data["reason"],
            run=run_info_from_wire(data["run"]),
            last=None if last is None else LastTI(**last),
            skip=frozenset(int(i) for i in data.get("skip", ())),
            task_kind=str(data.get("task_kind") or ""),
            done_key=str(data.get("done_key") or ""),
            done_ttl_s=int(data.get("done_ttl_s") or 0),
            deadline_index=int(data.get("deadline_index", -1)),
            deadline_s=float(data.get("deadline_s") or 0.0),
            dag_run=data.get("dag_run"),
            deadline_path=str(data.get("deadline_path") or ""),
        )


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _log(line: str) -> None:
    sys.stderr.write(f"{mask_text(line)}\n")
    sys.stderr.flush()


def _configure_logging() -> None:
    """Callbacks' and providers' INFO logs to stderr (the callbacks role's log), masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s] {%(name)s} %(levelname)s - %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def run_request(request: CallbackRequest) -> dict[str, Any]:
    dags, errors = load_dags(request.fileloc, request.dags_folder)
    dag = next((d for d in dags if d.dag_id == request.run.dag_id), None)
    if dag is None:
        detail = "; ".join(e.describe() for e in errors) or "the file does not define it"
        return {"fatal": cut_error(f"DAG {request.run.dag_id} could not be loaded: {detail}")}
    client = redis.Redis.from_url(request.redis_url, decode_responses=True)
    if request.deadline_index >= 0:
        return _run_deadline_callback(dag, request, client)
    task_id = "" if request.last is None else request.last.task_id
    xcoms = RedisXComs(client, Keys.from_env(), dag.dag_id, request.run.run_id, task_id)
    if request.task_kind and request.last is not None:
        kind = request.task_kind
        context, callbacks = task_callbacks(dag, request.run, request.last, kind, xcoms)
        what = "Task callback"
    else:
        context = callback_context(dag, request.run, request.last, request.reason, xcoms)
        callbacks = dag_callbacks(dag, request.success)
        what = "DAG callback"
    keys = Keys.from_env()
    with (
        use_variable_store(RedisVariableStore(client, keys)),
        use_connection_store(RedisConnectionStore(client, keys)),
    ):
        results = run_callbacks(
            callbacks, context, _log, request.skip, what, _recorder(client, request)
        )
    return {"done": list(results.done), "errors": [cut_error(e) for e in results.errors]}


def _run_deadline_callback(
    dag: Any, request: CallbackRequest, client: redis.Redis
) -> dict[str, Any]:
    """The alert's callback of a missed deadline (service/execution/deadline_callback.py)."""
    index = request.deadline_index
    alert = pick_alert(dag.deadline, index, request.deadline_path)
    if alert is None:
        calling = f" calling {request.deadline_path}" if request.deadline_path else ""
        detail = f"DAG {dag.dag_id} has no deadline alert {index}{calling} any more"
        return {"fatal": cut_error(detail)}
    if 0 in request.skip:
        return {"done": [0], "errors": []}
    run_id = request.run.run_id
    context = deadline_context(request.dag_run or {}, dag.dag_id, run_id, index, request.deadline_s)
    label = alert.name or f"deadline_alert[{index}]"
    _log(f"Executing deadline callback {alert.callback.path} of {label} (run {run_id})")
    keys = Keys.from_env()
    try:
        with (
            use_variable_store(RedisVariableStore(client, keys)),
            use_connection_store(RedisConnectionStore(client, keys)),
        ):
            call_deadline_callback(alert.callback, context)
    except Exception as err:
        message = f"deadline callback {alert.callback.path} failed: {type(err).__name__}: {err}"
        _log(message)
        return {"done": [], "errors": [cut_error(message)]}
    return {"done": [0], "errors": []}


def _recorder(client: redis.Redis, request: CallbackRequest) -> Callable[[int], None] | None:
    if not request.done_key:
        return None
    key, ttl_s = request.done_key, request.done_ttl_s

    def record(position: int) -> None:
        pipe = client.pipeline()
        pipe.sadd(key, str(position))
        if ttl_s:
            pipe.expire(key, ttl_s)
        try:
            pipe.execute()
        except redis.RedisError as err:  # the role records it with the result
            _log(f"callback {position} delivered, not yet recorded: {err}")

    return record


def main() -> None:
    _die_with_parent()
    _configure_logging()
    result_fd = int(sys.argv[1])
    request = CallbackRequest.decode(sys.stdin.buffer.read())
    try:
        result = run_request(request)
    except BaseException as err:  # user code at import may raise anything, SystemExit too
        result = {"fatal": cut_error(f"{type(err).__name__}: {err}")}
    with os.fdopen(result_fd, "wb") as out:
        out.write(orjson.dumps(result))


if __name__ == "__main__":
    main()
