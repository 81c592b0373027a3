"""``airflow.datasets``: Airflow 2's names for assets, as Airflow 3.1 still serves them.

There ``Dataset`` is ``airflow.sdk.Asset`` (group "asset"); Airflow 2's ``Dataset(uri, extra)``
takes ``extra`` second, which Airlane's ``Dataset`` accepts too.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airlane.sdk.assets import Asset, AssetAlias, AssetAll, AssetAny, BaseAsset


class Dataset(Asset):
    """An asset under Airflow 2's name (``Dataset(uri, extra=None)``)."""

    asset_type: ClassVar[str] = "asset"

    def __init__(self, name: str | None = None, uri: Any = None, **kwargs: Any) -> None:
        if isinstance(uri, dict) and "extra" not in kwargs:
            uri, kwargs["extra"] = None, uri
        super().__init__(name, uri, **kwargs)


DatasetAlias = AssetAlias
DatasetAll = AssetAll
DatasetAny = AssetAny
BaseDataset = BaseAsset

__all__ = ["BaseDataset", "Dataset", "DatasetAlias", "DatasetAll", "DatasetAny"]
