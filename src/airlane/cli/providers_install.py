"""``airlane providers install``: provider wheels into the running environment, without Airflow.

For each provider asked for: the installed distribution when its version already fits (as
``pip install`` does, unless ``--upgrade``), otherwise the wheel fetched with ``--no-deps`` into
a scratch folder. Its ``Requires-Dist`` is read there (``provider_requirements``: Airflow's own
distributions dropped, markers honoured, other providers followed with the same rule) and its
source checked for Airflow database use (``provider_check``). Only when every provider passes is
anything installed: first the other requirements (with their own dependencies, plus the few
packages Airflow itself brings that providers import), then the providers with ``--no-deps``.
The installer is ``uv pip`` when ``uv`` is on PATH, else this interpreter's ``pip``.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from airlane.cli.common import CliError
from airlane.cli.provider_check import DatabaseUse, scan_files
from airlane.cli.provider_requirements import (
    AIRFLOW_CORE_REQUIREMENTS,
    BUILT_IN_PROVIDERS,
    RequirementSet,
    merge,
    split_requirements,
)

Report = Callable[[str], None]


@dataclass(frozen=True)
class ProviderDist:
    """One provider distribution found for a requirement: installed already, or fetched."""

    name: str
    version: str
    requires: tuple[str, ...]
    installed: bool
    dist: importlib.metadata.Distribution

    def python_files(self) -> Iterator[tuple[str, Path]]:
        for file in self.dist.files or ():
            if file.suffix == ".py":
                yield str(file), Path(str(file.locate()))


@dataclass
class Plan:
    """What ``install`` will do: providers to fetch, requirements to install, notes."""

    providers: dict[str, ProviderDist] = field(default_factory=dict)
    others: RequirementSet = field(default_factory=RequirementSet)
    notes: list[str] = field(default_factory=list)

    @property
    def to_install(self) -> list[ProviderDist]:
        return [p for p in self.providers.values() if not p.installed]


def installer_command() -> list[str]:
    """``uv pip install`` aimed at this interpreter when uv is on PATH, else ``pip install``."""
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "pip", "install", "--python", sys.executable]
    return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]


def run_installer(args: list[str], what: str) -> None:
    command = [*installer_command(), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise CliError(f"{what} failed ({' '.join(command)}):\n{output}")


def installed_dist(name: str) -> importlib.metadata.Distribution | None:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _as_provider(dist: importlib.metadata.Distribution, installed: bool) -> ProviderDist:
    name = canonicalize_name(dist.metadata["Name"])
    return ProviderDist(name, dist.version, tuple(dist.requires or ()), installed, dist)


def fetch(requirement: Requirement, scratch: Path) -> ProviderDist:
    """The wheel for ``requirement`` unpacked into a scratch folder (nothing installed)."""
    target = scratch / canonicalize_name(requirement.name)
    shutil.rmtree(target, ignore_errors=True)
    run_installer(
        ["--no-deps", "--quiet", "--target", str(target), str(requirement)],
        f"fetching {requirement}",
    )
    dist_infos = sorted(target.glob("*.dist-info"))
    if not dist_infos:
        raise CliError(f"fetching {requirement} gave no wheel metadata")
    return _as_provider(importlib.metadata.PathDistribution(dist_infos[0]), installed=False)


def find(requirement: Requirement, scratch: Path, upgrade: bool) -> ProviderDist:
    """The installed provider when it fits ``requirement`` (no upgrade asked), else fetched."""
    dist = None if upgrade else installed_dist(requirement.name)
    if dist is not None and requirement.specifier.contains(dist.version, prereleases=True):
        return _as_provider(dist, installed=True)
    return fetch(requirement, scratch)


def refuse_database_use(provider: ProviderDist, wanted_by: str) -> None:
    uses: list[DatabaseUse] = scan_files(provider.python_files())
    if uses:
        shown = "; ".join(str(use) for use in uses[:3])
        more = f" (and {len(uses) - 3} more)" if len(uses) > 3 else ""
        raise CliError(
            f"{provider.name} {provider.version}{wanted_by} needs Airflow's metadata database, "
            f"which Airlane does not have ({shown}{more}): nothing was installed"
        )


def plan_install(requested: list[Requirement], scratch: Path, upgrade: bool = False) -> Plan:
    """Resolve the providers asked for and the providers they need, checking each one."""
    plan = Plan()
    wanted: dict[str, Requirement] = {}
    explicit = {canonicalize_name(r.name) for r in requested}
    queue: list[tuple[Requirement, str]] = [(r, "") for r in requested]
    while queue:
        requirement, parent = queue.pop(0)
        name = canonicalize_name(requirement.name)
        if name in BUILT_IN_PROVIDERS:
            plan.notes.append(f"{name}: served by Airlane's own operators, not installed")
            continue
        merged = merge(wanted[name], requirement) if name in wanted else requirement
        wanted[name] = merged
        current = plan.providers.get(name)
        if current is not None and merged.specifier.contains(current.version, prereleases=True):
            continue
        provider = find(merged, scratch, upgrade and name in explicit)
        refuse_database_use(provider, f" (required by {parent})" if parent else "")
        plan.providers[name] = provider
        split = split_requirements(list(provider.requires), frozenset(merged.extras))
        queue.extend((dependency, name) for dependency in split.providers)
    for key, provider in plan.providers.items():
        for other in split_requirements(
            list(provider.requires), frozenset(wanted[key].extras)
        ).others:
            plan.others.add(other)
    for text in AIRFLOW_CORE_REQUIREMENTS:
        plan.others.add(Requirement(text))
    return plan


def install(requested: list[Requirement], upgrade: bool, report: Report) -> Plan:
    """Plan, then install: the other requirements first, the providers last, ``--no-deps``."""
    with tempfile.TemporaryDirectory(prefix="airlane-providers-") as scratch:
        plan = plan_install(requested, Path(scratch), upgrade)
    for note in plan.notes:
        report(note)
    run_installer(["--quiet", *plan.others.as_strings()], "installing the providers' requirements")
    pins = [f"{p.name}=={p.version}" for p in plan.to_install]
    if pins:
        run_installer(["--quiet", "--no-deps", *pins], "installing the providers")
    for provider in plan.providers.values():
        state = "already installed" if provider.installed else "installed"
        report(f"{provider.name} {provider.version}: {state}")
    return plan
