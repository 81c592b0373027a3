"""``airlane providers install|list``: Airflow provider packages beside Airlane."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from airlane.cli.common import CliError, print_json
from airlane.cli.provider_requirements import ProviderNameError, provider_requirement
from airlane.cli.providers_install import install
from airlane.dag_loader import airflow_compat
from airlane.sdk.providers_manager import ProvidersManager


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "install",
        help="install Airflow providers without Airflow (e.g. http, common-sql>=2, "
        "apache-airflow-providers-postgres==7.1.1)",
    )
    p.add_argument("names", nargs="+", metavar="NAME", help="provider name, optional version")
    p.add_argument("--upgrade", "-U", action="store_true", help="newest fitting versions")
    p.set_defaults(handler=cmd_install)
    p = sub.add_parser("list", help="installed providers with their hooks and connection types")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(handler=cmd_list)


def cmd_install(args: argparse.Namespace) -> int:
    try:
        requested = [provider_requirement(name) for name in args.names]
    except ProviderNameError as err:
        raise CliError(str(err)) from None
    install(requested, args.upgrade, lambda line: print(line, flush=True))
    return 0


def installed_providers() -> list[dict[str, Any]]:
    """The installed providers as ``providers list --json`` shows them."""
    airflow_compat.install()  # provider packages import ``airflow`` when asked for their info
    manager = ProvidersManager()
    hooks = manager.hook_class_providers
    return [
        {
            "package_name": package,
            "version": info.version,
            "name": info.data.get("name", ""),
            "hooks": [
                {"connection_type": conn_type, "hook_class_name": hook.hook_class_name}
                for conn_type, hook in hooks.items()
                if hook.package_name == package
            ],
        }
        for package, info in manager.providers.items()
    ]


def cmd_list(args: argparse.Namespace) -> int:
    providers = installed_providers()
    if args.json:
        print_json(providers)
        return 0
    if not providers:
        print("no providers installed (airlane providers install NAME...)", file=sys.stderr)
        return 0
    width = max(len(p["package_name"]) for p in providers)
    for provider in providers:
        types = ", ".join(
            f"{h['connection_type']} ({h['hook_class_name'].rpartition('.')[2]})"
            for h in provider["hooks"]
        )
        print(f"{provider['package_name']:<{width}}  {provider['version']:<10}  {types or '-'}")
    return 0
