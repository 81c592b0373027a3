"""Finding DAG files: ``.py`` files below a folder, minus what ``.airflowignore`` excludes."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

IGNORE_FILE = ".airflowignore"


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """One line of an ``.airflowignore``, relative to the folder holding that file."""

    base: str
    pattern: str
    syntax: str  # "glob" (Airflow 3's default) or "regexp" (Airflow 2's)
    negated: bool = False
    dir_only: bool = False

    def matches(self, path: str, is_dir: bool) -> bool:
        rel = os.path.relpath(path, self.base)
        if rel.startswith(".."):
            return False
        if self.syntax == "regexp":
            return re.search(self.pattern, rel) is not None
        if self.dir_only and not is_dir:
            return False
        if "/" in self.pattern.rstrip("/"):
            return fnmatch.fnmatch(rel, self.pattern.lstrip("/"))
        return any(fnmatch.fnmatch(part, self.pattern) for part in rel.split(os.sep))


def read_ignore_file(folder: str, syntax: str) -> list[IgnoreRule]:
    path = os.path.join(folder, IGNORE_FILE)
    if not os.path.isfile(path):
        return []
    rules = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            line = raw.split("#", 1)[0].strip() if syntax == "glob" else raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = syntax == "glob" and line.startswith("!")
            pattern = line[1:] if negated else line
            if syntax == "regexp":
                try:
                    re.compile(pattern)
                except re.error:
                    continue
            rules.append(
                IgnoreRule(
                    folder, pattern.rstrip("/") or pattern, syntax, negated, pattern.endswith("/")
                )
            )
    return rules


def _ignored(path: str, is_dir: bool, rules: list[IgnoreRule]) -> bool:
    ignored = False
    for rule in rules:
        if rule.matches(path, is_dir):
            ignored = not rule.negated
    return ignored


def might_contain_dag(path: str) -> bool:
    """Airflow's safe mode: a DAG file mentions ``dag`` and ``airflow`` (or ``airlane``)."""
    try:
        with open(path, "rb") as handle:
            content = handle.read().lower()
    except OSError:
        return False
    return b"dag" in content and (b"airflow" in content or b"airlane" in content)


def list_dag_files(folder: str, *, syntax: str = "glob", safe_mode: bool = True) -> list[str]:
    """Absolute paths of the DAG files below ``folder``, sorted."""
    folder = os.path.abspath(folder)
    if os.path.isfile(folder):
        return [folder]
    return sorted(_walk(folder, [], syntax, safe_mode))


def _walk(folder: str, inherited: list[IgnoreRule], syntax: str, safe_mode: bool) -> Iterator[str]:
    rules = inherited + read_ignore_file(folder, syntax)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name in ("__pycache__",) or entry.name.startswith("."):
            continue
        is_dir = entry.is_dir()
        if _ignored(entry.path, is_dir, rules):
            continue
        if is_dir:
            yield from _walk(entry.path, rules, syntax, safe_mode)
        elif entry.name.endswith(".py") and (not safe_mode or might_contain_dag(entry.path)):
            yield entry.path
