"""Airflow 3.1's human-in-the-loop operators (``airflow.providers.standard.operators.hitl``).

A DAG file that uses them loads: the operators keep their arguments (templated ``subject`` and
``body``, options, defaults, params, notifiers, assigned users) and give the link Airflow gives
to its "required actions" page. Running one needs a person to answer through Airflow's HITL
API and UI, which Airlane does not have: the try fails at once, without retry, with an error
that says so (real Airflow 3.1.8's ``dags test`` fails these tasks too; in a deployment
Airflow would wait for the answer, or take ``defaults`` after ``response_timeout``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode, urlparse, urlunparse

from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context
from airlane.sdk.exceptions import AirflowFailException
from airlane.sdk.notifier import BaseNotifier


class HITLOperator(BaseOperator):
    """Asks a person to choose among ``options`` (and fill ``params``); refused at run time."""

    template_fields: ClassVar[tuple[str, ...]] = ("subject", "body")

    def __init__(
        self,
        *,
        subject: str,
        options: Sequence[str] | None = None,
        body: str | None = None,
        defaults: str | Sequence[str] | None = None,
        multiple: bool = False,
        notifiers: Sequence[BaseNotifier] | BaseNotifier | None = None,
        assigned_users: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
        response_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.subject = subject
        self.body = body
        self.options = list(options or [])
        self.defaults = [defaults] if isinstance(defaults, str) else defaults
        self.multiple = multiple
        self.notifiers = [notifiers] if isinstance(notifiers, BaseNotifier) else notifiers or []
        users = assigned_users
        self.assigned_users = [users] if isinstance(users, Mapping) else users
        if self.execution_timeout and not response_timeout:
            # Airflow's reading of an execution_timeout here: the time to wait for the answer
            response_timeout, self.execution_timeout = self.execution_timeout, None
        self.response_timeout = response_timeout

    def execute(self, context: Context) -> Any:
        raise AirflowFailException(
            f"{type(self).__name__} needs a person to respond ({self.subject!r}): Airlane has no "
            "human-in-the-loop API or UI to collect the answer, so this task cannot run"
        )

    def generate_link_to_ui(
        self,
        *,
        task_instance: Any,
        base_url: str | None = None,
        options: str | list[str] | None = None,
        params_input: dict[str, Any] | None = None,
    ) -> str:
        """Airflow's link to the task's "required actions" page, with the chosen query."""
        query: dict[str, Any] = {}
        chosen = [options] if isinstance(options, str) else options
        if chosen:
            if unknown := set(chosen) - set(self.options):
                raise ValueError(f"options {unknown} are not valid options")
            query["_options"] = chosen
        if params_input:
            if unknown := set(params_input) - set(self.params):
                raise ValueError(f"params {unknown} are not valid params")
            query.update(params_input)
        if not base_url:
            raise ValueError("Not able to retrieve base_url")
        query["map_index"] = task_instance.map_index
        ti = task_instance
        path = f"/dags/{ti.dag_id}/runs/{ti.run_id}/tasks/{ti.task_id}/required_actions"
        parsed = urlparse(base_url)
        return urlunparse((parsed.scheme, parsed.netloc, path, "", urlencode(query), ""))

    @staticmethod
    def generate_link_to_ui_from_context(
        *,
        context: Context,
        base_url: str | None = None,
        options: list[str] | None = None,
        params_input: dict[str, Any] | None = None,
    ) -> str:
        task = context["task"]
        if not isinstance(task, HITLOperator):
            raise ValueError("This method only supports HITLOperator")
        return task.generate_link_to_ui(
            task_instance=context["task_instance"],
            base_url=base_url,
            options=options,
            params_input=params_input,
        )


class ApprovalOperator(HITLOperator):
    """Approve or reject (options ``Approve`` / ``Reject``)."""

    def __init__(
        self,
        *,
        ignore_downstream_trigger_rules: bool = False,
        fail_on_reject: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(options=["Approve", "Reject"], **kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules
        self.fail_on_reject = fail_on_reject


class HITLBranchOperator(HITLOperator):
    """The chosen options name the downstream tasks to follow."""

    def __init__(self, *, options_mapping: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options_mapping = dict(options_mapping or {})


class HITLEntryOperator(HITLOperator):
    """A form of ``params`` to fill (option ``OK``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("options", ["OK"])
        kwargs.setdefault("defaults", ["OK"])
        super().__init__(**kwargs)


__all__ = ["ApprovalOperator", "HITLBranchOperator", "HITLEntryOperator", "HITLOperator"]
