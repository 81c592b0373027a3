"""``from airflow.configuration import conf`` (Airflow's kubernetes executor examples read it at
parse time): the environment first, then the caller's fallback, then Airflow's defaults."""

from __future__ import annotations

import pytest

from airlane.dag_loader import airflow_compat
from airlane.sdk.exceptions import AirflowConfigException


def test_conf_reads_the_environment_fallbacks_and_airflows_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    airflow_compat.install()
    from airflow.configuration import conf

    assert conf.get("kubernetes_executor", "worker_container_repository") == ""
    monkeypatch.setenv("AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_TAG", "v1")
    assert conf.get("kubernetes_executor", "worker_container_tag") == "v1"
    assert conf.get("my_section", "my_key", fallback=3) == 3
    monkeypatch.setenv("AIRFLOW__MY_SECTION__FLAG", "True")
    assert conf.getboolean("my_section", "flag") is True
    assert conf.has_option("my_section", "flag")
    with pytest.raises(AirflowConfigException, match=r"\[my_section/missing\] not found"):
        conf.get("my_section", "missing")
