"""Which of a provider's declared requirements Airlane installs beside it.

Every Airflow provider wheel declares ``apache-airflow>=2.11`` (some also
``apache-airflow-core`` or ``apache-airflow-task-sdk``): a plain ``pip install`` would bring all
of Airflow along, and with it the real ``airflow`` package that makes Airlane's import shim step
aside. Airlane keeps every other requirement: the ones whose environment marker holds here
(Python version, platform, the extras asked for) and the other providers a provider needs
(``apache-airflow-providers-common-compat``...), which follow the same rule in turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

PROVIDER_PREFIX = "apache-airflow-providers-"

#: Airflow itself: Airlane stands in for these, they are never installed.
AIRFLOW_DISTRIBUTIONS = frozenset(
    {"apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk"}
)

#: Providers whose modules Airlane serves with its own operators (``airflow_compat.MODULES``):
#: installing them would put Airflow's implementations, built on its task runner, in their place.
BUILT_IN_PROVIDERS = frozenset({"apache-airflow-providers-standard"})

#: Packages that ``apache-airflow-core`` (3.1.8) requires and providers import without declaring
#: them (they count on Airflow to bring them): the same lower bounds as Airflow's.
AIRFLOW_CORE_REQUIREMENTS: tuple[str, ...] = (
    "packaging>=25.0",
    "tenacity>=8.3.0",
    "deprecated>=1.2.13",
)

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$", re.DOTALL)


class ProviderNameError(ValueError):
    """A name given to ``airlane providers install`` that is not a provider requirement."""


@dataclass(frozen=True)
class SplitRequirements:
    """A provider's requirements, sorted by what Airlane does with them."""

    providers: tuple[Requirement, ...] = ()
    others: tuple[Requirement, ...] = ()
    #: Airflow's own distributions, left out
    dropped: tuple[str, ...] = ()


def provider_requirement(text: str) -> Requirement:
    """``http``, ``common.sql>=2``, ``apache-airflow-providers-http[srv]==6.3.0`` -> a requirement
    on the provider's distribution (short names get the ``apache-airflow-providers-`` prefix,
    dots become dashes as in Airflow's provider ids)."""
    match = _NAME.match(text)
    if match is None:
        raise ProviderNameError(f"not a provider name: {text!r}")
    name: str = canonicalize_name(match.group(1).replace(".", "-"))
    if name in AIRFLOW_DISTRIBUTIONS:
        raise ProviderNameError(f"{text!r} is Airflow itself, which Airlane stands in for")
    if not name.startswith(PROVIDER_PREFIX):
        name = PROVIDER_PREFIX + name
    try:
        requirement = Requirement(name + match.group(2))
    except InvalidRequirement as err:
        raise ProviderNameError(f"not a provider requirement: {text!r} ({err})") from None
    if name == PROVIDER_PREFIX.rstrip("-"):
        raise ProviderNameError(f"{text!r} is not a provider package")
    return requirement


def is_provider(name: str) -> bool:
    return canonicalize_name(name).startswith(PROVIDER_PREFIX)


def marker_holds(marker: Marker | None, extras: frozenset[str]) -> bool:
    """Whether a requirement applies here with these extras (none: only unconditional ones)."""
    if marker is None:
        return True
    return any(marker.evaluate({"extra": extra}) for extra in extras | {""})


def split_requirements(
    requires_dist: list[str], extras: frozenset[str] = frozenset()
) -> SplitRequirements:
    """Sort a provider's ``Requires-Dist`` lines: markers evaluated (and removed), Airflow's own
    distributions dropped, other providers apart from the rest."""
    providers: list[Requirement] = []
    others: list[Requirement] = []
    dropped: list[str] = []
    for line in requires_dist:
        requirement = Requirement(line)
        if not marker_holds(requirement.marker, extras):
            continue
        requirement.marker = None
        name = canonicalize_name(requirement.name)
        if name in AIRFLOW_DISTRIBUTIONS:
            dropped.append(str(requirement))
        elif name.startswith(PROVIDER_PREFIX):
            providers.append(requirement)
        else:
            others.append(requirement)
    return SplitRequirements(tuple(providers), tuple(others), tuple(dropped))


def merge(first: Requirement, second: Requirement) -> Requirement:
    """One requirement that asks for both: the specifiers intersected, the extras joined."""
    merged = Requirement(first.name)
    merged.specifier = first.specifier & second.specifier
    merged.extras = set(first.extras) | set(second.extras)
    return merged


@dataclass
class RequirementSet:
    """Requirements on other packages, merged by distribution name (first seen first)."""

    by_name: dict[str, Requirement] = field(default_factory=dict)

    def add(self, requirement: Requirement) -> None:
        name = canonicalize_name(requirement.name)
        current = self.by_name.get(name)
        self.by_name[name] = requirement if current is None else merge(current, requirement)

    def as_strings(self) -> list[str]:
        return [str(requirement) for requirement in self.by_name.values()]
