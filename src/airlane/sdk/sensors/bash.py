"""BashSensor (``airflow.providers.standard.sensors.bash``): pokes by running a bash command."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from airlane.sdk.context import Context, current_log
from airlane.sdk.exceptions import AirflowFailException
from airlane.sdk.sensors.base import BaseSensorOperator


class BashSensor(BaseSensorOperator):
    """Done when ``bash_command`` exits 0. Another exit code pokes again later; with
    ``retry_exit_code`` set, only that code does and any other fails the task (Airflow's)."""

    template_fields: ClassVar[tuple[str, ...]] = ("bash_command", "env")

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        output_encoding: str = "utf-8",
        retry_exit_code: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.output_encoding = output_encoding
        self.retry_exit_code = retry_exit_code

    def poke(self, context: Context) -> bool:
        log = current_log()
        with tempfile.TemporaryDirectory(prefix="airlanetmp") as tmp_dir:
            script = Path(tmp_dir) / f"{self.task_id}.sh"
            script.write_text(self.bash_command, encoding="utf-8")
            log(f"Running command: {self.bash_command}")
            done = subprocess.run(
                ["bash", str(script)],
                cwd=tmp_dir,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                check=False,
            )
        for line in done.stdout.decode(self.output_encoding, errors="replace").splitlines():
            log(line)
        log(f"Command exited with return code {done.returncode}")
        if done.returncode == 0:
            return True
        if self.retry_exit_code is not None and done.returncode != self.retry_exit_code:
            raise AirflowFailException(f"Command exited with return code {done.returncode}")
        return False


__all__ = ["BashSensor"]
