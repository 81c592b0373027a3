"""Providers that need Airflow's metadata database are refused (issue 16)."""

from __future__ import annotations

from airlane.cli.provider_check import database_uses


def _whats(source: str) -> list[str]:
    return [use.what for use in database_uses(source, "p.py")]


def test_session_and_orm_imports_that_run_are_found() -> None:
    source = (
        "from airflow.utils.session import NEW_SESSION, provide_session\n"
        "import airflow.jobs.job\n"
        "from airflow.models import DagModel, Connection\n"
        "from airflow.settings import Session\n"
        "def f():\n"
        "    from airflow.models.renderedtifields import RenderedTaskInstanceFields\n"
    )
    assert _whats(source) == [
        "airflow.utils.session",
        "airflow.jobs.job",
        "airflow.models.DagModel",
        "airflow.settings.Session",
        "airflow.models.renderedtifields",
    ]
    uses = database_uses(source, "pkg/mod.py")
    assert str(uses[0]) == "pkg/mod.py:1 imports airflow.utils.session"


def test_type_checking_imports_and_served_models_do_not_count() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import typing\n"
        "if TYPE_CHECKING:\n"
        "    from airflow.utils.session import provide_session\n"
        "else:\n"
        "    from airflow.models import Connection\n"
        "if typing.TYPE_CHECKING:\n"
        "    from airflow.models import DagModel\n"
        "from airflow.models.taskinstance import TaskInstance\n"
        "from airflow.models import BaseOperator, Variable\n"
        "from airflow.settings import AIRFLOW_HOME\n"
        "from .session import x\n"
        "import airflow.utils.sessions_are_not_this\n"
    )
    assert _whats(source) == []


def test_else_branch_of_type_checking_is_runtime_code() -> None:
    source = "if TYPE_CHECKING:\n    pass\nelse:\n    from airflow.utils.db import create_session\n"
    assert _whats(source) == ["airflow.utils.db"]


def test_unparsable_source_has_no_uses() -> None:
    assert _whats("def (:\n") == []
