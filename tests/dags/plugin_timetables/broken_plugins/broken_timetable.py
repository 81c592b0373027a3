"""A plugin file that fails to import (copied into the plugins folder by the tests)."""

from airflow.timetables.base import Timetable

raise RuntimeError("the holiday calendar service is down")


class NeverTimetable(Timetable):
    pass
