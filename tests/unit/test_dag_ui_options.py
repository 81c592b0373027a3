"""Airflow 2's ``default_view`` / ``orientation`` and ``access_control``: checked as Airflow
does, kept in the serialized DAG (only when set) and shown in the API's DAG details."""

from __future__ import annotations

import pytest

from airlane import DAG, EmptyOperator
from airlane.api.dags import ui_option_fields
from airlane.dag_loader.serialize import serialize_dag
from airlane.sdk.exceptions import AirflowException


def _serialized(**kwargs: object) -> dict[str, object]:
    with DAG("ui_options", schedule=None, **kwargs) as dag:  # type: ignore[arg-type]
        EmptyOperator(task_id="a")
    return serialize_dag(dag)


def test_the_options_are_kept_and_shown() -> None:
    data = _serialized(default_view="graph", orientation="TB")
    assert (data["default_view"], data["orientation"]) == ("graph", "TB")
    assert ui_option_fields(data) == {
        "default_view": "graph",
        "orientation": "TB",
        "access_control": None,
    }


def test_without_them_the_serialized_form_is_unchanged() -> None:
    data = _serialized()
    assert "default_view" not in data
    assert "orientation" not in data
    assert "access_control" not in data
    assert ui_option_fields(data)["default_view"] == "grid"


def test_values_airflow_2_refuses_are_refused() -> None:
    with pytest.raises(AirflowException, match=r"Invalid values of dag\.default_view"):
        _serialized(default_view="calendar_heatmap")
    with pytest.raises(AirflowException, match=r"Invalid values of dag\.orientation"):
        _serialized(orientation="up")


def test_tree_is_grid_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="renamed to 'grid'"):
        assert _serialized(default_view="tree").get("default_view") is None


def test_access_control_is_kept_with_a_warning_that_it_is_not_enforced() -> None:
    with pytest.warns(UserWarning, match="access_control is not enforced"):
        data = _serialized(access_control={"ops": {"can_read", "can_edit"}})
    assert data["access_control"] == {"ops": {"DAGs": ["can_edit", "can_read"]}}
