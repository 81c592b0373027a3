"""The layering contract's complement: what import-linter cannot see.

``[tool.importlinter]`` in pyproject.toml checks which layer imports which. It allows two
imports from the SDK up (``DAG.cli()`` and ``DAG.test()``); they must stay lazy, so that a DAG
file importing the SDK, and the pure engine, load nothing from the layers above them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded_layers(module: str) -> set[str]:
    code = (
        f"import sys, {module}\n"
        "layers = {m.split('.')[1] for m in sys.modules if m.startswith('airlane.')}\n"
        "print(' '.join(sorted(layers)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("airlane", {"sdk"}),
        ("airlane.sdk.dag", {"sdk"}),
        ("airlane.engine.state_machine", {"engine", "sdk"}),
    ],
)
def test_importing_a_layer_loads_nothing_above_it(module: str, allowed: set[str]) -> None:
    assert _loaded_layers(module) <= allowed
