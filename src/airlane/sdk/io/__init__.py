"""``airflow.sdk.io`` (``airflow.io`` in Airflow 2.8+): object storage as paths.

Importing it loads fsspec and universal_pathlib (about 80 ms): ``airflow.sdk`` gives
``ObjectStoragePath`` lazily, so DAG files that do not use it never pay for them.
"""

from airlane.sdk.io.fs import get_fs, has_fs
from airlane.sdk.io.path import ObjectStoragePath
from airlane.sdk.io.store import attach
from airlane.sdk.io.typedef import Properties

__all__ = ["ObjectStoragePath", "Properties", "attach", "get_fs", "has_fs"]
