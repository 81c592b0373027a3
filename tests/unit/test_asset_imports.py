"""The asset import paths of Airflow 3.1.8 (``airflow.sdk``, ``airflow.sdk.definitions.asset``,
its ``decorators`` and ``metadata``, ``airflow.timetables.assets``) and of Airflow 2.10.5
(``airflow.Dataset``, ``airflow.datasets``, ``airflow.datasets.metadata``,
``airflow.timetables.datasets``), served by the shim."""

from __future__ import annotations

import importlib

import pytest

from airlane.dag_loader import airflow_compat
from airlane.sdk import asset_decorator, asset_schedule, assets, datasets

PATHS = {
    "airflow.sdk": {
        "Asset": assets.Asset,
        "AssetAlias": assets.AssetAlias,
        "AssetAll": assets.AssetAll,
        "AssetAny": assets.AssetAny,
        "AssetWatcher": assets.AssetWatcher,
        "Metadata": assets.Metadata,
        "asset": asset_decorator.asset,
    },
    "airflow.sdk.definitions.asset": {
        "Asset": assets.Asset,
        "Dataset": assets.Dataset,
        "Model": assets.Model,
        "AssetRef": assets.AssetRef,
        "AssetNameRef": assets.AssetNameRef,
        "AssetUriRef": assets.AssetUriRef,
        "BaseAsset": assets.BaseAsset,
    },
    "airflow.sdk.definitions.asset.decorators": {"asset": asset_decorator.asset},
    "airflow.sdk.definitions.asset.metadata": {"Metadata": assets.Metadata},
    "airflow.timetables.assets": {"AssetOrTimeSchedule": asset_schedule.AssetOrTimeSchedule},
    "airflow.timetables.datasets": {"DatasetOrTimeSchedule": asset_schedule.DatasetOrTimeSchedule},
    "airflow.datasets": {
        "Dataset": datasets.Dataset,
        "DatasetAlias": assets.AssetAlias,
        "DatasetAll": assets.AssetAll,
        "DatasetAny": assets.AssetAny,
    },
    "airflow.datasets.metadata": {"Metadata": assets.Metadata},
    "airflow": {"Dataset": datasets.Dataset, "Asset": assets.Asset},
}


@pytest.mark.parametrize("module", PATHS)
def test_asset_paths(module: str) -> None:
    airflow_compat.install()
    imported = importlib.import_module(module)
    for name, value in PATHS[module].items():
        assert getattr(imported, name) is value, (module, name)


def test_airflow_3s_airflow_datasets_dataset_is_an_asset_taking_airflow_2s_extra() -> None:
    dataset = datasets.Dataset("s3://x", {"hi": "bye"})
    assert isinstance(dataset, assets.Asset)
    assert (dataset.group, dataset.extra) == ("asset", {"hi": "bye"})
