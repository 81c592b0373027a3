"""What a failed test leaves behind: the logs and work directories of the real processes it
used, copied to a folder that outlives pytest's temporary directories.

Clusters and Redis servers register themselves here when they are created (cheap: one list
entry); nothing is copied unless a test fails. The folder is ``artifacts/failures/<test id>``
under the repository (git-ignored), or ``$AIRLANE_TEST_ARTIFACTS/<test id>``; the failure
report names it.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parent.parent
#: files bigger than this are listed, not copied (an AOF, a test's own large data)
MAX_FILE_BYTES = 20 * 1024 * 1024
SKIPPED_DIRS = {"__pycache__", ".pytest_cache"}


class Saveable(Protocol):
    def save_artifacts(self, target: Path) -> None:
        """Copy what explains a failure into ``target`` (a directory that exists)."""

    def artifacts_open(self) -> bool:
        """Whether its processes still run (a closed source is saved only for the test that
        made it)."""


@dataclass(frozen=True, eq=False)
class Source:
    label: str
    what: Saveable


@dataclass
class Registry:
    sources: list[Source] = field(default_factory=list)

    def register(self, label: str, what: Saveable) -> Source:
        source = Source(label, what)
        self.sources.append(source)
        return source

    def mark(self) -> int:
        """A position: the sources registered from now on belong to the test starting."""
        return len(self.sources)

    def relevant(self, since: int) -> list[Source]:
        """What a test that started at ``since`` used: what it made, and what is still open
        (module- and session-scoped services)."""
        return [s for i, s in enumerate(self.sources) if i >= since or s.what.artifacts_open()]


REGISTRY = Registry()


def artifacts_root() -> Path:
    configured = os.environ.get("AIRLANE_TEST_ARTIFACTS")
    return Path(configured) if configured else ROOT / "artifacts" / "failures"


def folder_for(nodeid: str) -> Path:
    """``tests/x.py::test_y[a-b]`` -> ``<root>/tests.x.py__test_y_a-b_``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid.replace("::", "__").replace("/", "."))
    return artifacts_root() / name[:180]


def copy_tree(source: Path, target: Path) -> None:
    """Copy ``source`` into ``target``, skipping caches and files over ``MAX_FILE_BYTES``
    (listed in ``target/SKIPPED.txt``); a file that vanishes meanwhile is skipped."""
    skipped: list[str] = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if SKIPPED_DIRS.intersection(relative.parts) or not path.is_file():
            continue
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                skipped.append(f"{relative} ({size} bytes)")
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
        except OSError as err:
            skipped.append(f"{relative} ({err})")
    if skipped:
        target.mkdir(parents=True, exist_ok=True)
        (target / "SKIPPED.txt").write_text("\n".join(skipped) + "\n")


def save(nodeid: str, sources: list[Source]) -> Path:
    """Save every source's artifacts under the test's folder; returns the folder."""
    folder = folder_for(nodeid)
    folder.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(sources):
        target = folder / f"{i}-{source.label}"
        target.mkdir(parents=True, exist_ok=True)
        try:
            source.what.save_artifacts(target)
        except Exception as err:  # a broken source must not hide the others (or the failure)
            (target / "SAVE-FAILED.txt").write_text(f"{err!r}\n")
    return folder
