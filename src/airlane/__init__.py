"""Airlane: Airflow-style DAGs on asyncio and Redis.

DAG files import from ``airlane`` (or, unmodified, from Airflow's own import paths).
"""

from airlane.sdk import *  # noqa: F403
from airlane.sdk import __all__ as _sdk_all

__version__ = "0.1.0"
__all__ = [*_sdk_all, "__version__"]
