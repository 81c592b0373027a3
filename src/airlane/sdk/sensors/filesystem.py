"""FileSensor: wait for a file, or a non-empty folder, matching a glob."""

from __future__ import annotations

import glob
import os
from typing import Any, ClassVar

from airlane.sdk.context import Context, current_log
from airlane.sdk.sensors.base import BaseSensorOperator


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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = recursive

    def poke(self, context: Context) -> bool:
        current_log()(f"Poking for file {self.filepath}")
        for path in glob.glob(self.filepath, recursive=self.recursive):
            if os.path.isfile(path):
                return True
            for _, _, files in os.walk(path):
                if files:
                    return True
        return False
