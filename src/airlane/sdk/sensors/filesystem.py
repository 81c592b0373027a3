"""FileSensor: wait for a file, or a non-empty folder, matching a glob; with ``deferrable=True``,
a first poke on the worker and then a FileTrigger (Airflow 3.1.8's standard provider)."""

from __future__ import annotations

import glob
import os
from datetime import timedelta
from typing import Any, ClassVar

from airlane.sdk.context import Context, current_log
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.triggers.file import FileTrigger


class FileSensor(BaseSensorOperator):
    """Wait until ``filepath`` (a glob, templated) matches a file or a non-empty directory."""

    template_fields: ClassVar[tuple[str, ...]] = ("filepath",)
    ui_color = "#91818a"

    def __init__(
        self,
        *,
        filepath: str,
        fs_conn_id: str = "fs_default",
        recursive: bool = False,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = recursive
        self.deferrable = deferrable

    def poke(self, context: Context) -> bool:
        current_log()(f"Poking for file {self.filepath}")
        for path in glob.glob(self.filepath, recursive=self.recursive):
            if os.path.isfile(path):
                return True
            for _, _, files in os.walk(path):
                if files:
                    return True
        return False

    async def aexecute(self, context: Context) -> Any:
        if not self.deferrable:
            return await super().aexecute(context)
        if not await self._poke_once(context):
            self.defer(
                timeout=timedelta(seconds=self.timeout_s),
                trigger=FileTrigger(
                    filepath=self.filepath,
                    recursive=self.recursive,
                    poke_interval=self.poke_interval_s,
                ),
                method_name="execute_complete",
            )
        return None

    def execute_complete(self, context: Context, event: bool | None = None) -> None:
        if not event:
            raise AirflowException(f"{self.task_id} task failed as {self.filepath} not found.")
        current_log()(f"{self.task_id} completed successfully as {self.filepath} found.")
