"""A worker's tries as data: one running, one ended, and the batched script calls that claim
and finish them (see ``queue/scripts/claim.py`` and ``finish.py``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson
import pendulum

from airlane.engine.run_state import TaskOutcome
from airlane.queue.codec import encode_outcome
from airlane.queue.messages import TaskMessage
from airlane.queue.scripts import Claim, ClaimMany, Finish, FinishMany
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution.context_builder import RunInfo
from airlane.service.worker.log_writer import LOG_MAXLEN
from airlane.service.worker.run_conf import needs_asset_events


@dataclass
class RunningTry:
    """A task message this worker took off ``stream``; ``ref`` is its encoded ClaimRef."""

    stream: str
    message_id: str
    message: TaskMessage
    ref: str
    #: set once claimed: how the try resumes (deferral.Resume JSON), "" for a try that starts
    resume: str = ""
    #: claimed for this worker already, by the finish script of its upstream (RUN_HERE)
    claimed: bool = False
    #: the ref its upstream's task process is held under for it (TaskPool.release), "" none
    held: str = ""
    #: the message's JSON as read (its ``m`` field), when it carries every field: what
    #: ``message.to_fields()`` would encode again ("" when not known)
    raw: str = ""
    #: the held task process runs it already (its upstream's finish there claimed it): the
    #: stamped first line of its log, as that process wrote it ("" when not)
    running: str = ""
    #: its task process may finish it itself (its request's ``here``, or ``running``)
    here: bool = False


#: how many values a task message's JSON array holds when written by this version
_MESSAGE_VALUES = len(TaskMessage.__dataclass_fields__)


def read_message(fields: dict[str, str]) -> tuple[TaskMessage, str]:
    """A task message read off its stream (as ``TaskMessage.from_fields``), and its JSON
    when it is complete (an older message's fills its missing values with defaults)."""
    raw = fields["m"]
    values = orjson.loads(raw)
    message = TaskMessage(*values)
    return message, raw if len(values) == _MESSAGE_VALUES else ""


@dataclass(frozen=True, slots=True)
class FinishedTry:
    """A try that ended, waiting to be reported with others in one ``finish_many`` call."""

    item: RunningTry
    outcome: TaskOutcome
    xcom_pairs: list[str]
    log_lines: list[str]
    set_log_expiry: bool
    #: the try's rendered template fields as JSON ("" when it rendered none)
    rendered: str
    #: when it ended (epoch seconds), in place of the outcome's when set
    ended_at_s: float | None = None


def claim_call(worker_id: str, items: list[RunningTry], now_s: float) -> ClaimMany:
    claims = tuple(
        Claim(
            item.message.dag_id,
            item.message.run_id,
            item.message.task_id,
            item.message.map_index,
            item.message.try_number,
            message_ref=item.ref,
            resumed=item.message.resumed,
        )
        for item in items
    )
    return ClaimMany(worker_id, now_s, claims)


def finish_call(
    worker_id: str,
    finished: list[FinishedTry],
    log_retention_s: int,
    fast_path: bool = False,
    run_here: bool = False,
) -> FinishMany:
    """``run_here``: a successor the fast path queues is claimed for this worker (RUN_HERE in
    ``queue/scripts/finish.py``), which starts it at once."""
    finishes = tuple(
        Finish(
            stream=done.item.stream,
            message_id=done.item.message_id,
            dag_id=done.item.message.dag_id,
            run_id=done.item.message.run_id,
            task_id=done.item.message.task_id,
            map_index=done.item.message.map_index,
            try_number=done.item.message.try_number,
            outcome_json=_outcome_json(done.outcome, done.ended_at_s),
            message_ref=done.item.ref,
            xcom_pairs=tuple(done.xcom_pairs),
            log_lines=tuple(done.log_lines),
            set_log_expiry=done.set_log_expiry,
            rendered_json=done.rendered,
            deferral_json=done.outcome.deferral or "",
            resumed=bool(done.item.resume),
            fast_template=fast_template(done) if fast_path else "",
            run_here=fast_path and run_here,
        )
        for done in finished
    )
    return FinishMany(worker_id, finishes, LOG_MAXLEN, log_retention_s)


def _outcome_json(outcome: TaskOutcome, ended_at_s: float | None) -> str:
    """The outcome the completion carries: a deferral travels on its own (``deferral_json``)."""
    return encode_outcome(outcome, ended_at_s, with_deferral=False)


def fast_template(done: FinishedTry) -> str:
    """A success's own task message, which a successor's takes after (engine/fast_path.py)."""
    if done.outcome.state is not TaskInstanceState.SUCCESS or done.item.message.map_index >= 0:
        return ""
    return done.item.raw or done.item.message.to_fields()["m"]


def run_info(msg: TaskMessage, conf: dict[str, Any]) -> RunInfo:
    """The run a try belongs to, as the task sees it (its dates, conf and type)."""
    return RunInfo(
        dag_id=msg.dag_id,
        run_id=msg.run_id,
        logical_date=_opt_date(msg.logical_date),
        data_interval_start=_opt_date(msg.data_interval_start),
        data_interval_end=_opt_date(msg.data_interval_end),
        conf=conf,
        run_type=msg.run_type,
    )


def _opt_date(text: str) -> pendulum.DateTime | None:
    """A run's date; empty: it has none (an asset-triggered run's logical date)."""
    return _parse_date(text) if text else None


@functools.lru_cache(maxsize=4096)
def _parse_date(text: str) -> pendulum.DateTime:
    """Runs' dates, parsed once per worker (pendulum's parser is slow; its values immutable)."""
    return pendulum.parse(text)  # type: ignore[return-value]


#: runs whose wire a worker keeps (a try's request carries its run's)
MAX_RUN_WIRES = 256


class RunWires:
    """Each run as a try's request sends it (``task_process.run_info_to_wire``), built once per
    run and worker, not per try: its dates, type and conf are fixed when the run is created
    (keyed by its creation time too, as ``run_conf`` is). Never changed: only encoded. An
    asset-triggered run's is not kept (its events are read per try, as before)."""

    def __init__(self) -> None:
        self._wires: dict[tuple[str, ...], dict[str, Any]] = {}

    @staticmethod
    def key(msg: TaskMessage) -> tuple[str, ...]:
        return (
            msg.dag_id,
            msg.run_id,
            msg.run_queued_at,
            msg.logical_date,
            msg.data_interval_start,
            msg.data_interval_end,
            msg.run_type,
        )

    def get(self, msg: TaskMessage) -> dict[str, Any] | None:
        return self._wires.get(self.key(msg))

    def keep(self, msg: TaskMessage, wire: dict[str, Any]) -> None:
        if needs_asset_events(msg):
            return
        wires = self._wires
        if len(wires) >= MAX_RUN_WIRES:
            del wires[next(iter(wires))]  # the oldest
        wires[self.key(msg)] = wire
