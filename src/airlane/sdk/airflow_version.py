"""``airflow.__version__``: the Airflow version whose behaviour Airlane follows.

Provider packages refuse to import below their minimum Airflow version and choose Airflow 3's
import paths (``airflow.sdk``...) from this string, so it names the Airflow 3 release that
Airlane's compatibility suite is recorded from.
"""

__version__ = "3.1.8"

__all__ = ["__version__"]
