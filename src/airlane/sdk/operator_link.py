"""``BaseOperatorLink`` (``airflow.sdk``): a link from a task instance to an external system.

An operator lists its links in ``operator_extra_links``. As in Airflow 3, each link is worked
out in the task's process when a try ends (``get_link(operator, ti_key=ti)``) and pushed as an
XCom under the link's ``xcom_key`` (``_link_<class name>``); the API's ``links`` route reads
those XComs by the link names the DAG processor recorded, without importing the DAG file.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, ClassVar


class BaseOperatorLink(metaclass=ABCMeta):
    """Subclass with a ``name`` and ``get_link(operator, *, ti_key)``."""

    #: the operator classes a plugin's ``operator_extra_links`` attaches the link to
    operators: ClassVar[list[type[Any]]] = []

    @property
    @abstractmethod
    def name(self) -> str:
        """The link's button name."""

    @property
    def xcom_key(self) -> str:
        """The XCom key the link's URL is pushed under when a try ends."""
        return f"_link_{self.__class__.__name__}"

    @abstractmethod
    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The URL for the task instance ``ti_key`` of ``operator``."""
