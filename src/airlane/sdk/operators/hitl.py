"""Airflow 3.1's human-in-the-loop operators (``airflow.providers.standard.operators.hitl``).

A try writes its request (:mod:`airlane.sdk.hitl_detail`), calls its notifiers and defers on
a :class:`~airlane.sdk.triggers.hitl.HITLTrigger`, as Airflow 3.1.8's: its worker slot is free
while it waits, and the triggerer resumes it in ``execute_complete`` as soon as the answer is
written (or with ``defaults`` once ``response_timeout`` passed); past the timeout without
defaults it fails (``HITLTimeoutError``).

``airlane dags test`` cannot ask anyone: there the try fails at once, without retry, as real
Airflow 3.1.8's ``dags test`` fails these tasks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from airlane.sdk.context import Context, current_log
from airlane.sdk.exceptions import AirflowException, AirflowFailException
from airlane.sdk.hitl_detail import (
    HITLIdent,
    HITLRequest,
    HITLStore,
    current_hitl_store,
    hitl_ti_id,
)
from airlane.sdk.notifier import BaseNotifier
from airlane.sdk.operators.hitl_link import HITLLinkMixin
from airlane.sdk.operators.python import SkipMixin
from airlane.sdk.params import Param, ParamsDict
from airlane.sdk.triggers.hitl import HITLTrigger


class HITLTriggerEventError(Exception):
    """The wait ended with an error (Airflow's name)."""


class HITLTimeoutError(HITLTriggerEventError):
    """``response_timeout`` passed without an answer and there are no ``defaults``."""


class HITLRejectException(AirflowException):
    """``Reject`` chosen on an ApprovalOperator with ``fail_on_reject``."""


class HITLOperator(HITLLinkMixin):
    """Asks a person to choose among ``options`` (and fill ``params``), then returns the answer."""

    template_fields: ClassVar[tuple[str, ...]] = ("subject", "body")
    task_kind: ClassVar[str] = "hitl"

    def __init__(
        self,
        *,
        subject: str,
        options: Sequence[str],
        body: str | None = None,
        defaults: str | Sequence[str] | None = None,
        multiple: bool = False,
        params: ParamsDict | Mapping[str, Any] | None = None,
        notifiers: Sequence[BaseNotifier] | BaseNotifier | None = None,
        assigned_users: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
        response_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(params=_param_entries(params), **kwargs)
        if self.execution_timeout and not response_timeout:
            # Airflow's reading of an execution_timeout here: the time to wait for the answer
            response_timeout, self.execution_timeout = self.execution_timeout, None
        self.response_timeout = response_timeout
        self.subject = subject
        self.body = body
        self.options = list(options)
        self.defaults = [defaults] if isinstance(defaults, str) else defaults
        if self.defaults is not None:
            self.defaults = list(self.defaults)
        self.multiple = multiple
        # Airflow shows only the task's own params in the form, not the DAG's
        self.hitl_param_keys = tuple(params or {})
        self.notifiers = [notifiers] if isinstance(notifiers, BaseNotifier) else notifiers or []
        users = assigned_users
        self.assigned_users = [users] if isinstance(users, Mapping) else users
        self.validate_options()
        self.validate_params()
        self.validate_defaults()
        self.hitl_summary_extra: dict[str, Any] = {}

    # ---- checks at load time, as Airflow's --------------------------------------------------

    def validate_options(self) -> None:
        if not self.options:
            raise ValueError('"options" cannot be empty.')

    def validate_params(self) -> None:
        if "_options" in self.hitl_param_keys:
            raise ValueError('"_options" is not allowed in params')

    def validate_defaults(self) -> None:
        if self.defaults is None:
            return
        if not set(self.defaults).issubset(self.options):
            raise ValueError(
                f'defaults "{self.defaults}" should be a subset of options "{self.options}"'
            )
        if self.multiple is False and len(self.defaults) > 1:
            raise ValueError('More than one defaults given when "multiple" is set to False.')

    @property
    def serialized_params(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key in self.hitl_param_keys:
            param = self.params.get_param(key)
            value = param.resolve(suppress_exception=True)
            out[key] = {"value": value, "description": param.description, "schema": param.schema}
        return out

    @property
    def hitl_summary(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "body": self.body,
            "options": self.options,
            "defaults": self.defaults,
            "multiple": self.multiple,
            "assigned_users": self.assigned_users,
            "serialized_params": self.serialized_params or None,
            **self.hitl_summary_extra,
        }

    # ---- waiting ----------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        store = current_hitl_store()
        if store is None:
            raise AirflowFailException(
                f"{type(self).__name__} needs a person to respond ({self.subject!r}), and "
                "`dags test` has nobody to ask (Airflow's `dags test` fails these tasks too); "
                "run the DAG on Airlane's services to answer it in the API or UI"
            )
        ti = context["ti"]
        ident = HITLIdent(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
        request = self._ask(store, ident, ti.try_number, context)
        timeout_at = None if request.timeout_at_s is None else _dt(request.timeout_at_s)
        self.defer(
            trigger=HITLTrigger(
                ti_id=hitl_ti_id(ident, ti.try_number),
                options=self.options,
                defaults=self.defaults,
                params=self.serialized_params,
                multiple=self.multiple,
                timeout_datetime=timeout_at,
            ),
            method_name="execute_complete",
        )

    def _ask(
        self, store: HITLStore, ident: HITLIdent, try_number: int, context: Context
    ) -> HITLRequest:
        now_s = time.time()
        timeout_s = self.response_timeout.total_seconds() if self.response_timeout else None
        request = HITLRequest(
            options=tuple(self.options),
            subject=self.subject,
            try_number=try_number,
            created_at_s=now_s,
            body=self.body,
            defaults=None if self.defaults is None else tuple(self.defaults),
            multiple=self.multiple,
            params=self.serialized_params,
            assigned_users=tuple(dict(u) for u in self.assigned_users or ()),
            timeout_at_s=None if timeout_s is None else now_s + timeout_s,
        )
        store.ask(ident, request)
        timeout_at = request.timeout_at_s
        self.hitl_summary_extra["timeout_datetime"] = timeout_at and _dt(timeout_at).isoformat()
        current_log()("Waiting for response")
        for notifier in self.notifiers:
            notifier(context)
        return request

    # ---- the answer -------------------------------------------------------------------------

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if "error" in event:
            self.hitl_summary_extra["error_type"] = event["error_type"]
            self.process_trigger_event_error(event)
        chosen_options = event["chosen_options"]
        params_input = event["params_input"] or {}
        self.validate_chosen_options(chosen_options)
        self.validate_params_input(params_input)
        # (the event's datetime travelled through the triggerer: a plain one again for XCom)
        responded_at = _dt(event["responded_at"].timestamp())
        self.hitl_summary_extra.update(
            chosen_options=chosen_options,
            params_input=params_input,
            responded_at=responded_at.isoformat(),
            responded_by_user=event["responded_by_user"],
        )
        return {
            "chosen_options": chosen_options,
            "params_input": params_input,
            "responded_at": responded_at,
            "responded_by_user": event["responded_by_user"],
        }

    def process_trigger_event_error(self, event: dict[str, Any]) -> None:
        if event["error_type"] == "timeout":
            raise HITLTimeoutError(event)
        raise HITLTriggerEventError(event)

    def validate_chosen_options(self, chosen_options: list[str]) -> None:
        if diff := set(chosen_options) - set(self.options):
            raise ValueError(f"Responses {diff} not in {self.options}")

    def validate_params_input(self, params_input: Mapping[str, Any]) -> None:
        keys = set(self.hitl_param_keys)
        if keys and params_input and keys ^ set(params_input):
            raise ValueError(f"params_input {params_input} does not match params {self.params}")
        for key, value in params_input.items():
            if key in keys:
                old = self.params.get_param(key)
                Param(value, old.description, **old.schema).resolve()
            self.params[key] = value


class ApprovalOperator(HITLOperator, SkipMixin):
    """Approve or reject (options ``Approve`` / ``Reject``): rejecting skips downstream."""

    FIXED_ARGS: ClassVar[list[str]] = ["options", "multiple"]
    APPROVE = "Approve"
    REJECT = "Reject"

    def __init__(
        self,
        *,
        ignore_downstream_trigger_rules: bool = False,
        fail_on_reject: bool = False,
        **kwargs: Any,
    ) -> None:
        for arg in self.FIXED_ARGS:
            if arg in kwargs:
                raise ValueError(f"Passing {arg} to ApprovalOperator is not allowed.")
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules
        self.fail_on_reject = fail_on_reject
        super().__init__(options=[self.APPROVE, self.REJECT], multiple=False, **kwargs)
        self.hitl_summary_extra["ignore_downstream_trigger_rules"] = ignore_downstream_trigger_rules
        self.hitl_summary_extra["fail_on_reject"] = fail_on_reject

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        ret = super().execute_complete(context, event)
        chosen = ret["chosen_options"][0]
        self.hitl_summary_extra["approved"] = chosen == self.APPROVE
        log = current_log()
        if chosen == self.APPROVE:
            log("Approved. Proceeding with downstream tasks...")
            return ret
        if self.fail_on_reject and chosen == self.REJECT:
            raise HITLRejectException('Receive "Reject"')
        if not self.downstream_task_ids:
            log("No downstream tasks; nothing to do.")
            return ret
        log("Skipping downstream tasks")
        # every downstream task, or the direct ones with trigger rules deciding for the rest
        context["ti"].short_circuit("all" if self.ignore_downstream_trigger_rules else "direct")
        return ret


class HITLBranchOperator(HITLOperator, SkipMixin):
    """The chosen options (through ``options_mapping``) name the downstream tasks to follow."""

    def __init__(self, *, options_mapping: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options_mapping = dict(options_mapping or {})
        self.validate_options_mapping()
        self.hitl_summary_extra["options_mapping"] = self.options_mapping

    def validate_options_mapping(self) -> None:
        if not self.options_mapping:
            return
        if invalid := set(self.options_mapping) - set(self.options):
            raise ValueError(
                f"`options_mapping` contains keys that are not in `options`: {sorted(invalid)}"
            )
        mapping = self.options_mapping.items()
        bad = {k: (v, type(v).__name__) for k, v in mapping if not isinstance(v, str)}
        if bad:
            raise ValueError(
                f"`options_mapping` values must be strings (task_ids).\nInvalid entries: {bad}"
            )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        ret = super().execute_complete(context, event)
        branches = [self.options_mapping.get(o, o) for o in ret["chosen_options"]]
        self.hitl_summary_extra["branches_to_execute"] = branches
        return self.do_branch(context, branches)

    def do_branch(self, context: Context, branches_to_execute: list[str]) -> Any:
        current_log()(f"Branch into {branches_to_execute}")
        self.skip_all_except(context["ti"], branches_to_execute)
        return branches_to_execute


class HITLEntryOperator(HITLOperator):
    """A form of ``params`` to fill (option ``OK``)."""

    OK = "OK"

    def __init__(self, **kwargs: Any) -> None:
        if "options" not in kwargs:
            kwargs["options"] = [self.OK]
            kwargs.setdefault("defaults", [self.OK])
        super().__init__(**kwargs)


def _param_entries(params: ParamsDict | Mapping[str, Any] | None) -> dict[str, Any]:
    if isinstance(params, ParamsDict):
        return {key: params.get_param(key) for key in params}
    return dict(params or {})


def _dt(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)


__all__ = [
    "ApprovalOperator",
    "HITLBranchOperator",
    "HITLEntryOperator",
    "HITLOperator",
    "HITLRejectException",
    "HITLTimeoutError",
    "HITLTriggerEventError",
]
