"""Asset DAGs for airflowctl's ``assets`` group (tests/integration/test_airflowctl_assets.py):
a producer of ``ctl_left``, a producer through the alias ``ctl_alias`` and a consumer scheduled
on both ``ctl_left`` and ``ctl_right`` (an event on one of them stays queued for it)."""

from __future__ import annotations

from airflow.sdk import DAG, Asset, AssetAlias, task

left = Asset("ctl_left", uri="s3://ctl/left")
right = Asset("ctl_right", uri="s3://ctl/right")
alias = AssetAlias("ctl_alias")

with DAG("ctl_producer", schedule=None, tags=["ctl"]):

    @task(outlets=[left])
    def make() -> None:
        pass

    make()

with DAG("ctl_alias_producer", schedule=None):

    @task(outlets=[alias])
    def make_through_alias() -> None:
        pass

    make_through_alias()

with DAG("ctl_consumer", schedule=[left, right]):

    @task(inlets=[left])
    def read() -> None:
        pass

    read()
