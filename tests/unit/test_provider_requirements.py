"""Which requirements of a provider wheel ``airlane providers install`` keeps (issue 16)."""

from __future__ import annotations

import sys

import pytest
from packaging.requirements import Requirement

from airlane.cli.provider_requirements import (
    ProviderNameError,
    RequirementSet,
    merge,
    provider_requirement,
    split_requirements,
)

# apache-airflow-providers-http 6.3.0's Requires-Dist, as its wheel declares them
HTTP_REQUIRES = [
    "apache-airflow>=2.11.0",
    "apache-airflow-providers-common-compat>=1.17.0",
    "requests>=2.32.0,<3",
    "requests-toolbelt>=1.0.0",
    "aiohttp>=3.14.0",
    "asgiref>=2.3.0; python_version < '3.14'",
    "asgiref>=3.11.1; python_version >= '3.14'",
    "pydantic>=2.11.0",
    'dnspython>=2.0.0 ; extra == "srv"',
]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http", "apache-airflow-providers-http"),
        ("common.sql>=2", "apache-airflow-providers-common-sql>=2"),
        ("common-sql", "apache-airflow-providers-common-sql"),
        ("apache-airflow-providers-http==6.3.0", "apache-airflow-providers-http==6.3.0"),
        ("Apache_Airflow_Providers_Slack", "apache-airflow-providers-slack"),
        ("http[srv]>=6,<7", "apache-airflow-providers-http[srv]<7,>=6"),
    ],
)
def test_provider_names_become_requirements(given: str, expected: str) -> None:
    assert str(provider_requirement(given)) == expected


@pytest.mark.parametrize("given", ["apache-airflow", "apache-airflow-core", "", "http>>1", "!x"])
def test_names_that_are_not_providers_are_refused(given: str) -> None:
    with pytest.raises(ProviderNameError):
        provider_requirement(given)


def test_airflow_is_dropped_providers_kept_apart_markers_honoured() -> None:
    split = split_requirements(HTTP_REQUIRES)
    assert split.dropped == ("apache-airflow>=2.11.0",)
    assert [str(r) for r in split.providers] == ["apache-airflow-providers-common-compat>=1.17.0"]
    names = [str(r) for r in split.others]
    asgiref = "asgiref>=3.11.1" if sys.version_info >= (3, 14) else "asgiref>=2.3.0"
    assert names == [
        "requests<3,>=2.32.0",
        "requests-toolbelt>=1.0.0",
        "aiohttp>=3.14.0",
        asgiref,
        "pydantic>=2.11.0",
    ]
    assert all(r.marker is None for r in split.others)


def test_extras_asked_for_bring_their_requirements() -> None:
    split = split_requirements(HTTP_REQUIRES, frozenset({"srv"}))
    assert "dnspython>=2.0.0" in [str(r) for r in split.others]


def test_core_and_task_sdk_are_dropped_and_provider_extras_followed() -> None:
    split = split_requirements(
        [
            "apache-airflow-core>=3.0",
            "apache-airflow-task-sdk>=1.0",
            'apache-airflow-providers-openlineage ; extra == "openlineage"',
            "apache-airflow-providers-common-sql>=1.32.0",
        ]
    )
    assert split.dropped == ("apache-airflow-core>=3.0", "apache-airflow-task-sdk>=1.0")
    assert [r.name for r in split.providers] == ["apache-airflow-providers-common-sql"]
    with_extra = split_requirements(
        ['apache-airflow-providers-openlineage ; extra == "openlineage"'],
        frozenset({"openlineage"}),
    )
    assert [r.name for r in with_extra.providers] == ["apache-airflow-providers-openlineage"]


def test_requirements_on_one_package_are_merged() -> None:
    merged = merge(Requirement("x>=1.17"), Requirement("X[a]>=1.23,<2"))
    assert merged.specifier.contains("1.23.0")
    assert not merged.specifier.contains("1.20.0")
    assert not merged.specifier.contains("2.0")
    assert merged.extras == {"a"}
    requirements = RequirementSet()
    for text in ("requests>=2", "Requests<3", "aiohttp"):
        requirements.add(Requirement(text))
    assert requirements.as_strings() == ["requests<3,>=2", "aiohttp"]
