"""A DAG scheduled on ``Asset.ref(uri=...)`` is refused at load time with a clear error (Airlane
matches events to consumers by asset name, so such a DAG would never run)."""

from __future__ import annotations

import pytest

from airlane.sdk.assets import Asset
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import AirflowException


def test_a_uri_reference_in_a_schedule_is_refused() -> None:
    with pytest.raises(AirflowException, match=r"Asset.ref\(uri=...\)"):
        DAG("by_uri", schedule=[Asset("a"), Asset.ref(uri="s3://bucket/x")])


def test_a_name_reference_is_accepted() -> None:
    dag = DAG("by_name", schedule=Asset("a") | Asset.ref(name="x"))
    assert dag.dag_id == "by_name"
