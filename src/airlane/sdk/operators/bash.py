"""BashOperator: run a templated bash command in its own process group."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import Any, ClassVar

from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context, current_log
from airlane.sdk.exceptions import AirflowException, AirflowSkipException
from airlane.sdk.lines import LineSplitter

DEFAULT_SKIP_EXIT_CODE = 99
READ_CHUNK_BYTES = 64 * 1024
# The command runs as a background job of a guard shell. The guard gets SIGTERM when the
# worker dies (PR_SET_PDEATHSIG) and then kills the whole process group, grandchildren too;
# `wait` is interruptible by traps where a foreground command is not.
_GUARD_SCRIPT = (
    "cmd=$AIRLANE_BASH_COMMAND; unset AIRLANE_BASH_COMMAND; "
    "trap 'kill -KILL 0' TERM HUP; "
    'bash -c "$cmd" <&0 & wait $!'
)


class BashOperator(BaseOperator):
    """Run ``bash_command`` with bash; the last line of output is the XCom return value.

    Exit code 99 (``skip_on_exit_code``) marks the task skipped; any other non-zero code fails it.
    A ``bash_command`` ending in ``.sh`` or ``.bash`` names a template file next to the DAG.
    """

    template_fields: ClassVar[tuple[str, ...]] = ("bash_command", "env", "cwd")
    template_fields_renderers: ClassVar[dict[str, str]] = {"bash_command": "bash", "env": "json"}
    template_ext: ClassVar[tuple[str, ...]] = (".sh", ".bash")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        output_encoding: str = "utf-8",
        skip_exit_code: int | None = None,
        skip_on_exit_code: int | list[int] | None = DEFAULT_SKIP_EXIT_CODE,
        cwd: str | None = None,
        output_processor: Callable[[str], Any] = lambda result: result,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.output_encoding = output_encoding
        if skip_exit_code is not None:
            skip_on_exit_code = skip_exit_code
        if skip_on_exit_code is None:
            self.skip_on_exit_code: tuple[int, ...] = ()
        elif isinstance(skip_on_exit_code, int):
            self.skip_on_exit_code = (skip_on_exit_code,)
        else:
            self.skip_on_exit_code = tuple(skip_on_exit_code)
        self.cwd = cwd
        self.output_processor = output_processor
        self._process: asyncio.subprocess.Process | None = None

    def build_env(self, context: Context) -> dict[str, str]:
        """The child's environment: ``env`` alone, or on top of ours with ``append_env``."""
        base = dict(os.environ) if self.env is None or self.append_env else {}
        base.update({k: str(v) for k, v in (self.env or {}).items()})
        base.update(context_env_vars(context))
        return base

    def _check_cwd(self) -> None:
        if self.cwd is not None:
            if not os.path.exists(self.cwd):
                raise AirflowException(f"Can not find the cwd: {self.cwd}")
            if not os.path.isdir(self.cwd):
                raise AirflowException(f"The cwd {self.cwd} must be a directory")

    async def aexecute(self, context: Context) -> Any:
        """Run the command on the event loop; killed with its whole process group on cancel."""
        command = self.bash_command
        if not isinstance(command, str) or not command.strip():
            raise AirflowException("bash_command must be a non-empty string")
        self._check_cwd()
        log = current_log()
        env = self.build_env(context)
        env["AIRLANE_BASH_COMMAND"] = command
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            _GUARD_SCRIPT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.cwd,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._process = proc
        last_line = ""
        try:
            assert proc.stdout is not None
            # Read in chunks, not lines: StreamReader's readline fails on a line over 64 KiB;
            # a long line goes to the log in pieces.
            splitter = LineSplitter(self.output_encoding)
            while chunk := await proc.stdout.read(READ_CHUNK_BYTES):
                for line in splitter.feed(chunk):
                    last_line = line
                    log(line)
            for line in splitter.close():
                last_line = line
                log(line)
            code = await proc.wait()
        except BaseException:
            kill_process_group(proc.pid)
            await proc.wait()
            raise
        finally:
            self._process = None
        if code in self.skip_on_exit_code:
            raise AirflowSkipException(f"Bash command returned exit code {code}. Skipping.")
        if code != 0:
            raise AirflowException(
                f"Bash command failed. The command returned a non-zero exit code {code}."
            )
        return self.output_processor(last_line)

    def execute(self, context: Context) -> Any:
        """Synchronous form, for code that calls ``execute`` directly."""
        return asyncio.run(self.aexecute(context))

    def on_kill(self) -> None:
        if self._process is not None:
            kill_process_group(self._process.pid)


def kill_process_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid``, if it still exists."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies (Linux), so no task outlives its worker."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def context_env_vars(context: Context) -> dict[str, str]:
    """Airflow's ``AIRFLOW_CTX_*`` variables describing the running task."""
    ti = context.get("ti")
    if ti is None:
        return {}
    values = {
        "AIRFLOW_CTX_DAG_ID": ti.dag_id,
        "AIRFLOW_CTX_TASK_ID": ti.task_id,
        "AIRFLOW_CTX_DAG_RUN_ID": ti.run_id,
        "AIRFLOW_CTX_TRY_NUMBER": str(ti.try_number),
        "AIRFLOW_CTX_LOGICAL_DATE": context["logical_date"].isoformat(),
        "AIRFLOW_CTX_EXECUTION_DATE": context["logical_date"].isoformat(),
    }
    owner = getattr(context.get("task"), "owner", None)
    if owner:
        values["AIRFLOW_CTX_DAG_OWNER"] = str(owner)
    return values
