"""A success finished by its own task process: Airflow's mini scheduler where the task ran.

A worker that may run a try's successor itself (the fast path, not stopping) sends the try's
request with ``here``: its message, claim and first log line. When the try succeeds and its
task has downstream tasks, the task process sends the worker's ``finish_many`` (FINISH_MANY, in
the worker's name, with the try's whole log) itself, and starts the successor the finish claims
for the worker at once, in the same process: no round trip through the worker between the end
and the next start. The worker learns of both from the try's ``done`` frame and keeps the
successor as it keeps any try (its heartbeat, timeout, log, stop).

The log stays whole and written once: the task process keeps the try's lines as the worker
stores them (stamped), in the order it sends them, while they are few (``WholeLog``); the
worker writes them in that order as they come, and the finish writes those the log does not
hold yet (``whole_log``: the first ones may be the worker's). The worker's own sends of a
``here`` try's lines go in only while its claim stands (LINES_WHILE_CLAIMED), so none follows
the finish. A try that fails, defers or ends otherwise, a log too long to keep, and every try
whose finish could not be sent, is finished by the worker, as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import NoScriptError, ResponseError

from airlane.engine.run_state import TaskOutcome
from airlane.queue.codec import encode_outcome
from airlane.queue.keys import Keys
from airlane.queue.messages import TaskMessage
from airlane.queue.scripts import packed
from airlane.queue.scripts.finish import FINISH_MANY, Delivery, Finish, FinishMany
from airlane.service.worker.log_limits import ENTRY_OVERHEAD_BYTES
from airlane.service.worker.log_writer import LOG_MAXLEN, stamped


def try_header(msg: TaskMessage, worker_id: str, resumed: bool = False) -> str:
    """A try's first log line (its worker writes it, stamped)."""
    how = " (resumed by its trigger)" if resumed else ""
    return f"try {msg.try_number} of {msg.task_id} on worker {worker_id}{how}"


def here(stream: str, message_id: str, ref: str, raw: str, header: str) -> dict[str, str]:
    """A request's ``here``: the try's message (``raw``: its JSON, which a successor's takes
    after), its ClaimRef and its stamped first log line."""
    return {"stream": stream, "mid": message_id, "ref": ref, "raw": raw, "hdr": header}


@dataclass(frozen=True, slots=True)
class Successor:
    """A successor claimed for the worker by a task process's finish: its task message and
    its request's ``here``."""

    message: TaskMessage
    here: dict[str, str]


class WholeLog:
    """A try's log as its worker stores it (each line stamped), while it holds at most
    ``max_bytes`` (with each entry's overhead, as the worker's cap counts them)."""

    def __init__(self, header: str, max_bytes: int) -> None:
        self.lines: list[str] | None = [header]
        self._bytes = len(header) + ENTRY_OVERHEAD_BYTES
        self._max_bytes = max_bytes

    def keep(self, pieces: list[str]) -> None:
        lines = self.lines
        if lines is None:
            return
        for piece in pieces:
            text = stamped(piece)
            self._bytes += len(text) + ENTRY_OVERHEAD_BYTES
            lines.append(text)
        if self._bytes > self._max_bytes:
            self.lines = None  # too long: the worker finishes the try


class FinishHere:
    """The task process's side: ``finish`` sends a success's finish in its worker's name."""

    def __init__(self, client: redis.Redis, keys: Keys, worker_id: str, retention_s: int) -> None:
        self.client = client
        self.keys = keys
        self.worker_id = worker_id
        self.retention_s = retention_s
        self._sha: str = client.register_script(FINISH_MANY).sha
        #: this process's own connection for its finishes (sent from its main thread only,
        #: one at a time): no pool's bookkeeping and check on the hop; connected on first use
        pool = client.connection_pool
        self._connection = pool.connection_class(**pool.connection_kwargs)

    def finish(
        self,
        request: dict[str, Any],
        outcome: TaskOutcome,
        lines: list[str],
        done: dict[str, Any],
    ) -> Successor | None:
        """Finish the successful try of ``request`` (its ``here``) with its whole log
        (``lines``) and say so in its ``done`` frame: ``fin``, and what the finish read for
        the worker (``succ``; ``rep`` for a replay). Returns the successor the finish claimed
        for the worker (``hdr`` in ``done``: its first log line), which this process runs
        next. Refused (the log holds more than ``lines``), or with Redis away,
        nothing is said: the worker finishes the try (a replay, if this call went through: its
        answer then starts what this one read)."""
        at: dict[str, str] = request["here"]
        run = request["run"]
        finish = Finish(
            stream=at["stream"],
            message_id=at["mid"],
            dag_id=run["dag_id"],
            run_id=run["run_id"],
            task_id=request["task_id"],
            map_index=request["map_index"],
            try_number=request["try_number"],
            outcome_json=encode_outcome(outcome, time.time(), with_deferral=False),
            message_ref=at["ref"],
            xcom_pairs=tuple(done["x"]),
            log_lines=tuple(lines),
            set_log_expiry=True,
            rendered_json=done["r"],
            fast_template=at["raw"],
            run_here=True,
            whole_log=True,
        )
        call = FinishMany(self.worker_id, (finish,), LOG_MAXLEN, self.retention_s)
        try:
            delivery = Delivery.decode(self._call(call))
        except Exception:  # Redis away, or a bug here: the worker finishes it (a replay...)
            return None
        if delivery is not None and delivery.refused:
            return None
        done["fin"] = 1
        if delivery is None:
            return None
        if delivery.replayed:
            done["rep"] = 1
            return None
        done["succ"] = [
            delivery.stream,
            delivery.message_id,
            delivery.fields,
            delivery.claimed,
            delivery.ref,
        ]
        if not delivery.claimed:
            return None  # an older message: the worker claims and starts it
        return self._successor(delivery, done)

    def _successor(self, delivery: Delivery, done: dict[str, Any]) -> Successor:
        """The successor claimed for the worker, with its ``here`` (its first log line)."""
        message = TaskMessage.from_fields(delivery.fields)
        header = stamped(try_header(message, self.worker_id))
        done["hdr"] = header
        raw = delivery.fields["m"]
        return Successor(
            message, here(delivery.stream, delivery.message_id, delivery.ref, raw, header)
        )

    def _call(self, call: FinishMany) -> object:
        """FINISH_MANY's one answer, packed by hiredis on this process's connection (loaded
        again when Redis does not know it)."""
        wire = call.encode(self.keys)
        command = ("EVALSHA", self._sha, len(wire.keys), *wire.keys, *wire.args)
        try:
            return self._send(packed(command))
        except NoScriptError:
            self.client.script_load(FINISH_MANY)
            return self._send(packed(command))

    def _send(self, command: bytes) -> object:
        connection = self._connection
        try:
            connection.send_packed_command([command])
            answer = connection.read_response()
        except ResponseError:
            raise
        except BaseException:
            connection.disconnect()
            raise
        if isinstance(answer, list) and answer:
            return answer[0]
        return answer
