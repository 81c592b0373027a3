"""Which interpreter runs the callbacks role: arq requires redis-py < 6, which the services do
not use (it made their hop latency worse), so arq lives in a virtualenv of its own."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

#: set by ``airlane callbacks`` when it re-executes itself in the callbacks virtualenv: the
#: interpreter of the services, where DAG files (and the packages they import) are loaded
CHILD_PYTHON_ENV = "AIRLANE_CALLBACK_CHILD_PYTHON"

HOW_TO_INSTALL = (
    "the callbacks role needs arq, installed in a virtualenv of its own: "
    "python -m venv .venv-callbacks && .venv-callbacks/bin/pip install 'airlane[callbacks]' "
    "(scripts/setup.sh does it), or AIRLANE_CALLBACKS_PYTHON=<its python>"
)


class NoCallbacksPython(LookupError):
    """Neither this interpreter nor a callbacks virtualenv has arq."""


def arq_here() -> bool:
    return importlib.util.find_spec("arq") is not None


def callbacks_python(configured: str) -> str | None:
    """None when arq is importable here; else the callbacks virtualenv's interpreter
    (``configured``, else ``.venv-callbacks`` beside this interpreter's virtualenv)."""
    if arq_here():
        return None
    candidates = [configured] if configured else []
    candidates.append(str(Path(sys.prefix).parent / ".venv-callbacks" / "bin" / "python"))
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise NoCallbacksPython(HOW_TO_INSTALL)
