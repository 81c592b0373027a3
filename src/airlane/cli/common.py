"""Shared CLI helpers: settings, locating DAGs, JSON output."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from typing import Any

import orjson

from airlane.config import Settings
from airlane.dag_loader.discovery import list_dag_files
from airlane.dag_loader.importer import load_dags
from airlane.dag_loader.isolated import parse_files
from airlane.dag_loader.models import FileResult, ImportErrorInfo
from airlane.sdk.dag import DAG
from airlane.sdk.timezone import coerce_datetime


class CliError(Exception):
    """A usage or load error: printed, exit status 2."""


def add_folder_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dags-folder",
        "-S",
        "--subdir",
        dest="dags_folder",
        default=None,
        help="folder with DAG files (default: $AIRLANE_DAGS_FOLDER or ./dags)",
    )


def settings_for(args: argparse.Namespace) -> tuple[Settings, str]:
    settings = Settings.from_env()
    folder = args.dags_folder or settings.dags_folder
    if not os.path.exists(folder):
        raise CliError(f"DAGs folder not found: {folder}")
    return settings, os.path.abspath(folder)


def parse_folder(
    settings: Settings, folder: str, files: list[str] | None = None
) -> list[FileResult]:
    if files is None:
        files = list_dag_files(
            folder,
            syntax=settings.dag_ignore_file_syntax,
            safe_mode=settings.dag_discovery_safe_mode,
        )
    return parse_files(
        files, folder, timeout_s=settings.dag_import_timeout_s, limits=settings.import_limits
    )


def find_dag_file(settings: Settings, folder: str, dag_id: str) -> str:
    """The file defining ``dag_id``: files naming it are parsed first, then the rest."""
    files = list_dag_files(
        folder, syntax=settings.dag_ignore_file_syntax, safe_mode=settings.dag_discovery_safe_mode
    )
    needle = dag_id.encode()
    likely = [f for f in files if _contains(f, needle)]
    failed: list[ImportErrorInfo] = []
    for batch in (likely, [f for f in files if f not in likely]):
        for result in parse_folder(settings, folder, batch):
            if any(d["dag_id"] == dag_id for d in result.dags):
                return result.filename
            failed += result.errors
    # The DAG may be in a file that failed to import: its error is the answer, not "not found".
    mentioning = {os.path.abspath(f) for f in likely}
    suspects = [e for e in failed if os.path.abspath(e.filename) in mentioning] or failed
    if suspects:
        raise CliError(_not_loaded(dag_id, suspects))
    raise CliError(f"DAG {dag_id!r} not found in {folder}")


def _not_loaded(dag_id: str, errors: list[ImportErrorInfo]) -> str:
    lines = [f"DAG {dag_id!r} not found: a DAG file that may define it failed to import"]
    for error in errors:
        lines.append(error.describe())
        if error.traceback:
            lines.append("    " + error.traceback.rstrip().replace("\n", "\n    "))
    return "\n".join(lines)


def _contains(path: str, needle: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return needle in handle.read()
    except OSError:
        return False


def load_dag(settings: Settings, folder: str, dag_id: str) -> DAG:
    """Import the file of ``dag_id`` in this process and return the DAG object."""
    path = find_dag_file(settings, folder, dag_id)
    dags, errors = load_dags(path, folder)
    for dag in dags:
        if dag.dag_id == dag_id:
            return dag
    detail = "; ".join(e.describe() for e in errors) or "not defined at import"
    raise CliError(f"DAG {dag_id!r} could not be loaded from {path}: {detail}")


def parse_logical_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return coerce_datetime(value)
    except Exception as err:
        raise CliError(f"--logical-date: not a date or date-time: {value!r} ({err})") from None


def parse_conf(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        conf = orjson.loads(value)
    except orjson.JSONDecodeError as err:
        raise CliError(f"--conf: invalid JSON: {err}") from None
    if not isinstance(conf, dict):
        raise CliError("--conf: must be a JSON object")
    return conf


def print_json(data: Any) -> None:
    sys.stdout.write(
        orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    )
    sys.stdout.flush()
