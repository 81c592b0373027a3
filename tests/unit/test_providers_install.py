"""``airlane providers install`` plans: providers followed, Airflow left out, refusals (issue 16).

The package index is faked: each "fetched" wheel is a dist-info folder written here."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from airlane.cli import providers_install
from airlane.cli.common import CliError
from airlane.cli.provider_requirements import provider_requirement

#: name -> {version: (requires, {file: source})}
INDEX: dict[str, dict[str, tuple[list[str], dict[str, str]]]] = {
    "apache-airflow-providers-http": {
        "6.3.0": (
            [
                "apache-airflow>=2.11.0",
                "apache-airflow-providers-common-compat>=1.17.0",
                "requests>=2.32.0,<3",
                'dnspython>=2.0.0 ; extra == "srv"',
            ],
            {"airflow/providers/http/hooks/http.py": "from airflow.models import Connection\n"},
        )
    },
    "apache-airflow-providers-sqlite": {
        "4.3.4": (
            ["apache-airflow>=2.11.0", "apache-airflow-providers-common-sql>=1.32.0"],
            {},
        )
    },
    "apache-airflow-providers-common-sql": {
        "2.4.0": (
            [
                "apache-airflow>=2.11.0",
                "apache-airflow-providers-common-compat>=1.23.0",
                "sqlparse>=0.5.1",
                "apache-airflow-providers-standard ; extra == 'standard'",
            ],
            {},
        )
    },
    "apache-airflow-providers-common-compat": {
        "1.20.0": (["apache-airflow>=2.11.0"], {}),
        "1.23.0": (["apache-airflow>=2.11.0", "asgiref>=2.3.0"], {}),
    },
    "apache-airflow-providers-cncf-kubernetes": {
        "10.25.0": (
            ["apache-airflow>=2.11.0", "kubernetes>=36"],
            {"airflow/providers/cncf/kubernetes/x.py": "from airflow.utils.session import p\n"},
        )
    },
    "apache-airflow-providers-needs-k8s": {
        "1.0.0": (["apache-airflow-providers-cncf-kubernetes"], {}),
    },
}


def _write_dist(root: Path, name: str, version: str) -> importlib.metadata.Distribution:
    requires, files = INDEX[name][version]
    dist_info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    lines = [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\n" + "\n".join(lines) + "\n")
    for path, source in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(source)
    (dist_info / "RECORD").write_text("".join(f"{path},,\n" for path in files))
    return importlib.metadata.PathDistribution(dist_info)


@pytest.fixture
def fake_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    """Fetches answer from INDEX (newest fitting version); nothing is installed; installer
    commands are recorded."""
    fetched: list[str] = []
    commands: list[list[str]] = []

    def fetch(requirement: Requirement, scratch: Path) -> providers_install.ProviderDist:
        name = requirement.name
        versions = sorted(INDEX[name], key=Version, reverse=True)
        version = next(v for v in versions if requirement.specifier.contains(v))
        fetched.append(f"{name}=={version}")
        dist = _write_dist(tmp_path / "fetched" / f"{name}-{version}", name, version)
        return providers_install.ProviderDist(
            name, version, tuple(dist.requires or ()), False, dist
        )

    monkeypatch.setattr(providers_install, "fetch", fetch)
    monkeypatch.setattr(providers_install, "installed_dist", lambda name: None)
    monkeypatch.setattr(
        providers_install, "run_installer", lambda args, what: commands.append(args)
    )
    commands.append(fetched)  # commands[0] is the fetch log
    return commands


def _install(*names: str) -> providers_install.Plan:
    requested = [provider_requirement(name) for name in names]
    return providers_install.install(requested, upgrade=False, report=lambda line: None)


def test_providers_are_followed_and_airflow_left_out(fake_index: list[list[str]]) -> None:
    plan = _install("http", "sqlite")
    assert list(plan.providers) == [
        "apache-airflow-providers-http",
        "apache-airflow-providers-sqlite",
        "apache-airflow-providers-common-compat",
        "apache-airflow-providers-common-sql",
    ]
    # common-compat: first fetched for http (>=1.17), then again for common-sql (>=1.23)
    assert plan.providers["apache-airflow-providers-common-compat"].version == "1.23.0"
    fetched, requirements, providers = fake_index
    assert "apache-airflow-providers-common-compat==1.23.0" in fetched
    assert requirements[0] == "--quiet"
    assert "requests<3,>=2.32.0" in requirements
    assert "sqlparse>=0.5.1" in requirements
    assert "asgiref>=2.3.0" in requirements
    assert "tenacity>=8.3.0" in requirements  # Airflow core brings it; providers import it
    assert not any("apache-airflow" in r or "dnspython" in r for r in requirements)
    assert providers[:2] == ["--quiet", "--no-deps"]
    assert sorted(providers[2:]) == [
        "apache-airflow-providers-common-compat==1.23.0",
        "apache-airflow-providers-common-sql==2.4.0",
        "apache-airflow-providers-http==6.3.0",
        "apache-airflow-providers-sqlite==4.3.4",
    ]


def test_extras_asked_for_are_installed(fake_index: list[list[str]]) -> None:
    _install("http[srv]")
    assert "dnspython>=2.0.0" in fake_index[1]


def test_a_provider_needing_the_database_is_refused_before_installing(
    fake_index: list[list[str]],
) -> None:
    with pytest.raises(CliError, match="metadata database") as refused:
        _install("http", "cncf-kubernetes")
    message = str(refused.value)
    assert "apache-airflow-providers-cncf-kubernetes 10.25.0 needs" in message
    assert "airflow/providers/cncf/kubernetes/x.py:1 imports airflow.utils.session" in message
    assert "nothing was installed" in message
    assert fake_index[1:] == []  # no installer command ran


def test_a_dependency_needing_the_database_names_who_required_it(
    fake_index: list[list[str]],
) -> None:
    with pytest.raises(CliError, match=r"required by apache-airflow-providers-needs-k8s"):
        _install("needs-k8s")


def test_an_installed_provider_that_fits_is_kept(
    fake_index: list[list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installed = _write_dist(tmp_path / "site", "apache-airflow-providers-common-compat", "1.23.0")
    monkeypatch.setattr(
        providers_install,
        "installed_dist",
        lambda name: installed if name == "apache-airflow-providers-common-compat" else None,
    )
    plan = _install("http")
    assert plan.providers["apache-airflow-providers-common-compat"].installed
    fetched, _requirements, providers = fake_index
    assert fetched == ["apache-airflow-providers-http==6.3.0"]
    assert providers[2:] == ["apache-airflow-providers-http==6.3.0"]


def test_the_standard_provider_is_airlanes_own(fake_index: list[list[str]]) -> None:
    lines: list[str] = []
    requested = [provider_requirement("standard"), provider_requirement("sqlite")]
    plan = providers_install.install(requested, upgrade=False, report=lines.append)
    assert "apache-airflow-providers-standard" not in plan.providers
    assert lines[0] == (
        "apache-airflow-providers-standard: served by Airlane's own operators, not installed"
    )
    assert not any("standard" in f for f in fake_index[0])


def test_the_installer_is_uv_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers_install.shutil, "which", lambda name: "/usr/bin/uv")
    assert providers_install.installer_command()[:4] == [
        "/usr/bin/uv",
        "pip",
        "install",
        "--python",
    ]
    monkeypatch.setattr(providers_install.shutil, "which", lambda name: None)
    assert providers_install.installer_command()[1:4] == ["-m", "pip", "install"]
