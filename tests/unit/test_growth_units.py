"""Pure parts of the growth limits: trim floors, run expiry, a run's keys, the conf cap."""

from __future__ import annotations

import pytest

from airlane.engine.run_state import TIRecord
from airlane.queue.codec import TIMeta, encode_ti
from airlane.queue.conf_limit import ConfTooLarge, check_conf_size, max_conf_bytes_from_env
from airlane.queue.keys import Keys
from airlane.queue.trimming import GroupPosition, trim_floor
from airlane.sdk.state import TaskInstanceState
from airlane.service.retention import is_expired, run_keys
from tests.conftest import run_cli


def test_the_floor_is_the_oldest_entry_some_group_still_needs() -> None:
    assert trim_floor([]) is None
    assert trim_floor([GroupPosition("0-0", None)]) is None  # nothing delivered yet
    assert trim_floor([GroupPosition("5-3", None)]) == "5-4"  # all acknowledged
    assert trim_floor([GroupPosition("9-0", "7-2")]) == "7-2"  # one still pending
    # another group lags behind: it has not been given 4-0 yet
    assert trim_floor([GroupPosition("9-0", None), GroupPosition("3-9", None)]) == "3-10"
    assert trim_floor([GroupPosition("9-0", "8-0"), GroupPosition("9-0", "2-1")]) == "2-1"


def test_only_finished_runs_started_before_the_cutoff_expire() -> None:
    assert is_expired({"state": "success", "start_date": "100.0"}, 200.0)
    assert is_expired({"state": "failed", "start_date": "", "queued_at": "100.0"}, 200.0)
    assert not is_expired({"state": "success", "start_date": "300.0"}, 200.0)
    assert not is_expired({"state": "running", "start_date": "100.0"}, 200.0)
    assert not is_expired({"state": "queued", "queued_at": "100.0"}, 200.0)
    assert not is_expired({"state": "success"}, 200.0)


def test_a_runs_keys_include_every_try_log_and_xcom() -> None:
    keys = Keys("p:")
    record = TIRecord(TaskInstanceState.SUCCESS, try_number=2, max_tries=2)
    failed = TIRecord(TaskInstanceState.FAILED, try_number=1, max_tries=1)
    tis = {"a|-1": encode_ti(record, TIMeta()), "m|0": encode_ti(failed, TIMeta())}
    found = run_keys(keys, "d", "r", tis, ["a|-1|1", "gone|-1|3"])
    assert keys.run("d", "r") in found
    assert {keys.tis("d", "r"), keys.claims("d", "r"), keys.tries("d", "r")} <= set(found)
    assert keys.rendered("d", "r") in found
    assert {keys.xcom("d", "r", t) for t in ("a", "m", "gone")} <= set(found)
    logs = {k for k in found if k.startswith("p:log:")}
    assert logs == {
        keys.log("d", "r", "a", -1, 1),
        keys.log("d", "r", "a", -1, 2),
        keys.log("d", "r", "m", 0, 1),
        *(keys.log("d", "r", "gone", -1, n) for n in (1, 2, 3)),
    }


def test_the_conf_cap() -> None:
    check_conf_size('{"a": 1}', 8)
    with pytest.raises(ConfTooLarge) as caught:
        check_conf_size('{"a": "\u00e9"}', 10)  # counted in bytes of UTF-8, not characters
    assert caught.value.size_bytes == 11
    assert "AIRLANE_MAX_CONF_BYTES" in str(caught.value)
    assert max_conf_bytes_from_env({}) == 1024 * 1024
    assert max_conf_bytes_from_env({"AIRLANE_MAX_CONF_BYTES": "5"}) == 5


def test_db_clean_refuses_tables_and_a_batch_size_below_one() -> None:
    """Airflow's options are honoured or refused, never silently ignored."""
    base = ("db", "clean", "--clean-before-timestamp", "2020-01-01", "--yes")
    refused = run_cli(*base, "--tables", "xcom")
    assert refused.code == 2
    assert "--tables" in refused.stderr
    assert run_cli(*base, "--batch-size", "0").code == 2
