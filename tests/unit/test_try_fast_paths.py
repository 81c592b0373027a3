"""The per-try shortcuts of the task process give what the long ways gave."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import enum

import pendulum
import pytest

from airlane.sdk.dag import DAG
from airlane.sdk.operators.python import PythonOperator
from airlane.sdk.secrets_masker import SecretsMasker
from airlane.service.execution.class_facts import shallow_copy, utc_from_timestamp
from airlane.service.worker.task_process import _InContext

_var: contextvars.ContextVar[str] = contextvars.ContextVar("fast_path_var", default="outer")


@pytest.mark.parametrize("when_s", [0.0, 1e9 + 0.5, 1_700_000_000.123456, 1_800_000_000.0])
def test_utc_from_timestamp_is_pendulums(when_s: float) -> None:
    expected, got = pendulum.from_timestamp(when_s), utc_from_timestamp(when_s)
    assert (got, got.fold, got.tzinfo, got.isoformat()) == (
        expected,
        expected.fold,
        expected.tzinfo,
        expected.isoformat(),
    )
    assert type(got) is type(expected)


def test_shallow_copy_is_copy_copy() -> None:
    with DAG("fast_copy"):
        task = PythonOperator(task_id="t", python_callable=print, op_kwargs={"a": [1]})
    expected, got = copy.copy(task), shallow_copy(task)
    assert type(got) is type(expected)
    assert got is not task
    assert list(got.__dict__.items()) == list(expected.__dict__.items())
    assert got.op_kwargs is task.op_kwargs  # shallow, as copy.copy


class _Custom(PythonOperator):
    def __copy__(self) -> _Custom:
        clone = object.__new__(_Custom)
        clone.__dict__.update(self.__dict__, copied_by="__copy__")
        return clone


def test_shallow_copy_keeps_a_class_own_copy() -> None:
    with DAG("own_copy"):
        task = _Custom(task_id="t", python_callable=print)
    assert shallow_copy(task).__dict__["copied_by"] == "__copy__"


class _Color(enum.StrEnum):
    RED = "red-secret-value"


def test_redact_keeps_its_results() -> None:
    masker = SecretsMasker()
    masker.add_mask("red-secret-value")
    item = {
        "n": 1,
        "f": 1.5,
        "b": True,
        "none": None,
        "password": "x",
        "nested": {"token": [1, "a"], "l": ["red-secret-value", 2, (3, "red-secret-value")]},
        "enum": _Color.RED,
    }
    assert masker.redact(item) == {
        "n": 1,
        "f": 1.5,
        "b": True,
        "none": None,
        "password": "***",
        "nested": {"token": [1, "***"], "l": ["***", 2, (3, "***")]},
        "enum": "***",
    }


def test_in_context_runs_each_step_in_its_context() -> None:
    async def a_try(tag: str) -> None:
        _var.set(tag)
        await asyncio.sleep(0)
        assert _var.get() == tag
        assert await asyncio.create_task(_read()) == tag  # a task it starts copies it
        await asyncio.to_thread(lambda: None)
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(5)
        except TimeoutError:
            pass
        assert _var.get() == tag

    async def _read() -> str:
        return _var.get()

    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("from the try")

    async def main() -> None:
        base = contextvars.copy_context()
        for tag in ("one", "two"):
            await _InContext(a_try(tag), base.copy())
            assert _var.get() == "outer"
        with pytest.raises(ValueError, match="from the try"):
            await _InContext(failing(), base.copy())

    asyncio.run(main())


def test_in_context_passes_a_cancellation_down() -> None:
    cancelled = []

    async def waits() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        outer = asyncio.create_task(_await(_InContext(waits(), contextvars.copy_context())))
        await asyncio.sleep(0.01)
        outer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer

    async def _await(awaitable: _InContext) -> None:
        await awaitable

    asyncio.run(main())
    assert cancelled == [True]
