"""The standalone banner's CLI commands run as printed (``airlane`` is not on PATH after
``make run``)."""

from __future__ import annotations

from airlane.service.standalone import cli_command


def test_the_standalone_banner_prints_cli_commands_that_run_as_printed() -> None:
    repo = "/home/me/airlane"
    venv_script = f"{repo}/.venv/bin/airlane"
    # make run: .venv/bin/airlane, not on PATH
    assert cli_command(".venv/bin/airlane", f"{repo}/.venv/bin/python", repo, None) == (
        ".venv/bin/airlane"
    )
    assert cli_command(venv_script, "/usr/bin/python3", "/tmp", "/usr/bin/airlane") == venv_script
    # the one on PATH started it (an image, an activated venv)
    assert cli_command(venv_script, "/x/python", repo, venv_script) == "airlane"
    # python -m airlane: the same interpreter's module form
    main = f"{repo}/src/airlane/__main__.py"
    assert cli_command(main, f"{repo}/.venv/bin/python", repo, None) == (
        ".venv/bin/python -m airlane"
    )
    assert cli_command(main, "/opt/py 3/python", "/tmp", None) == "'/opt/py 3/python' -m airlane"
    assert cli_command("airlane", f"{repo}/python", repo, None) == "./airlane"
