"""``airflow.sdk.__version__``: the Task SDK release of the Airflow Airlane follows (Airflow 3.1.8
ships Task SDK 1.1.8; see ``airflow_version``)."""

__version__ = "1.1.8"

__all__ = ["__version__"]
