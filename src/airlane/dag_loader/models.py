"""What the loader produces: serialized DAGs and import errors, per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ImportErrorInfo:
    """A file that could not be loaded (or a DAG in it that failed validation)."""

    filename: str
    lineno: int | None
    message: str
    traceback: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "lineno": self.lineno,
            "message": self.message,
            "traceback": self.traceback,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportErrorInfo:
        return cls(data["filename"], data.get("lineno"), data["message"], data.get("traceback", ""))

    def describe(self) -> str:
        where = f"{self.filename}:{self.lineno}" if self.lineno else self.filename
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class FileResult:
    """The outcome of loading one DAG file."""

    filename: str
    dags: tuple[dict[str, Any], ...] = ()
    errors: tuple[ImportErrorInfo, ...] = ()
    duration_s: float = 0.0
    output: str = field(default="", repr=False)
