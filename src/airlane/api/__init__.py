"""The HTTP control API: Airflow 3's ``/api/v2`` shapes on aiohttp (see :func:`create_app`)."""

from airlane.api.app import ApiSettings, create_app

__all__ = ["ApiSettings", "create_app"]
