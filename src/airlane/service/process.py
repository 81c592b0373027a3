"""Running a service until SIGTERM or SIGINT, with logging set up (SIGUSR1 logs its asyncio
tasks' stacks)."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import signal
from collections.abc import Awaitable, Callable

from airlane.service.event_loop import LoopKind, loop_factory

log = logging.getLogger("airlane.service")

ServiceMain = Callable[[asyncio.Event], Awaitable[None]]


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def dump_tasks() -> None:
    """Log where each of the service's asyncio tasks waits (SIGUSR1): what a service that does
    not stop, or does not progress, is waiting for."""
    tasks = asyncio.all_tasks()
    out = io.StringIO()
    for task in sorted(tasks, key=lambda t: t.get_name()):
        out.write(f"--- {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=12, file=out)
    log.warning("asyncio tasks (%d):\n%s", len(tasks), out.getvalue())


async def _serve(main: ServiceMain) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, dump_tasks)
    await main(stop)


#: Collect the young generation every 50,000 net allocations instead of 700: services that
#: keep a hundred thousand task instances alive otherwise spend a quarter of a run's
#: expansion in the cyclic collector (measured on bench's 10,000-task run).
GC_THRESHOLDS = (50_000, 20, 100)


def run_service(main: ServiceMain, loop: LoopKind = LoopKind.ASYNCIO) -> None:
    """Run ``main(stop)`` on a new event loop of kind ``loop`` (service/event_loop.py)."""
    gc.set_threshold(*GC_THRESHOLDS)
    # What the imports made (modules, classes, functions) lives as long as the process: out of
    # the collector's generations, a full collection no longer walks it again each time.
    gc.freeze()
    factory = loop_factory(loop)
    log.info("event loop: %s", "uvloop" if factory is not None else "asyncio")
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(main))
