"""What each benchmark's results carry about where they were measured, and how they are saved."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any


def stamp() -> dict[str, str]:
    """The machine, the commit and the time of a measurement."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "commit": commit or "unknown",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def save(output: Path, found: dict[str, Any]) -> None:
    """The results as JSON at ``output`` (its folder made if need be)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(found, indent=2) + "\n")
