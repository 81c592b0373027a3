"""``airflow.sdk.execution_time.xcom``: the configured XCom backend, resolved at import as
Airflow's module does (``[core] xcom_backend``; ``BaseXCom`` when none is set)."""

from __future__ import annotations

from airlane.sdk.xcom import BaseXCom, xcom_backend


def resolve_xcom_backend() -> type[BaseXCom]:
    """The custom XCom class if one is configured, else ``BaseXCom``."""
    return xcom_backend()


XCom = resolve_xcom_backend()

__all__ = ["XCom", "resolve_xcom_backend"]
