"""The command line imports only the group it runs (a service's start skips the API's imports)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airlane.cli import build_parser

_CHECK = (
    "import sys; from airlane.cli import build_parser; build_parser({argv!r}); "
    "print(','.join(sorted(m for m in {modules!r} if m in sys.modules)))"
)


def _imported_after(argv: list[str], modules: list[str]) -> set[str]:
    code = _CHECK.format(argv=argv, modules=modules)
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    return set(out.split(",")) - {""}


def test_a_service_role_does_not_import_the_api_or_the_client() -> None:
    heavy = ["airlane.api.app", "airlane.cli.client", "airlane.cli.connections_cmd"]
    assert _imported_after(["worker", "--concurrency", "3"], heavy) == set()
    assert _imported_after(["coordinator"], heavy) == set()


def test_help_without_a_group_lists_every_group() -> None:
    help_text = build_parser([]).format_help()
    for name in ("dags", "runs", "connections", "providers", "worker", "standalone", "triggerer"):
        assert name in help_text


@pytest.mark.parametrize(
    ("argv", "group"),
    [
        (["worker", "-c", "3"], "worker"),
        (["dags", "list"], "dags"),
        (["runs", "list", "d"], "runs"),
        (["pools", "list"], "pools"),
        (["connections", "list"], "connections"),
        (["db", "clean", "--clean-before-timestamp", "2020-01-01"], "db"),
    ],
)
def test_a_group_named_first_parses_as_with_every_group(argv: list[str], group: str) -> None:
    alone = build_parser(argv).parse_args(argv)
    everything = build_parser([]).parse_args(argv)
    assert alone.group == group
    assert vars(alone).keys() == vars(everything).keys()
    assert alone.handler.__qualname__ == everything.handler.__qualname__
