"""The link Airflow's HITL operators give to a task's "required actions" page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlparse, urlunparse

from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context


class HITLLinkMixin(BaseOperator):
    """``generate_link_to_ui`` and ``generate_link_to_ui_from_context`` of HITLOperator."""

    options: list[str]

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
        if not isinstance(task, HITLLinkMixin):
            raise ValueError("This method only supports HITLOperator")
        return task.generate_link_to_ui(
            task_instance=context["task_instance"],
            base_url=base_url,
            options=options,
            params_input=params_input,
        )
