"""What a virtualenv task's interpreter is given of the task: nothing under ``dags test``, the
worker's Redis and the instance's identity on workers, connected by the script's preamble."""

from __future__ import annotations

import json
from types import SimpleNamespace

from airlane.sdk.venv_access import ACCESS_ENV, PREAMBLE, access_env, use_task_access
from airlane.sdk.virtualenv_call import render_script

TI = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=2, try_number=3)


def test_no_access_is_given_where_none_is_installed() -> None:
    assert access_env(TI) == {}


def test_a_worker_gives_its_redis_and_the_instance() -> None:
    with use_task_access("redis://h:1/0", "{p}:"):
        env = access_env(TI)
        assert access_env(None) == {}
    assert json.loads(env[ACCESS_ENV]) == {
        "redis_url": "redis://h:1/0",
        "prefix": "{p}:",
        "dag_id": "d",
        "run_id": "r",
        "task_id": "t",
        "map_index": 2,
        "try_number": 3,
    }


def test_the_script_connects_before_the_function_runs() -> None:
    script = render_script("def f():\n    return 1\n", "f", "pickle", False)
    assert PREAMBLE in script
    assert script.index(PREAMBLE) < script.index("def f():")
    compile(script, "script.py", "exec")
