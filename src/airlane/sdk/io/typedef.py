"""``airflow.sdk.io.typedef``: a store's options, as fsspec takes them."""

from __future__ import annotations

Properties = dict[str, str]
