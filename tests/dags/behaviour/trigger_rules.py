"""Every trigger rule against six combinations of upstream end states (Airflow 2.x imports)."""

import time

from airflow import DAG
from airflow.exceptions import AirflowSkipException
from airflow.operators.python import PythonOperator


def ok():
    return "ok"


def bad():
    raise ValueError("planned failure")


def skip():
    # all_success settles as skipped as soon as a skipped upstream finishes (Airflow does the
    # same), so (bad, skip) depends on which ends first; skips end last here to fix the order.
    time.sleep(0.5)
    raise AirflowSkipException("planned skip")


RULES = [
    "all_success", "all_failed", "all_done", "all_skipped", "one_success", "one_failed",
    "one_done", "none_failed", "none_failed_min_one_success", "none_skipped", "always",
]
COMBOS = {"ok_bad": ("ok", "bad"), "ok_skip": ("ok", "skip"), "bad_skip": ("bad", "skip"),
          "ok_ok": ("ok", "ok2"), "skip_skip": ("skip", "skip2"), "bad_bad": ("bad", "bad2")}

# s = success, k = skipped, u = upstream_failed; order: ok_bad ok_skip bad_skip ok_ok skip_skip bad_bad
TABLE = {
    "all_success":                 "u k u s k u",
    "all_failed":                  "k k k k k s",
    "all_done":                    "s s s s s s",
    "all_skipped":                 "k k k k s k",
    "one_success":                 "s s u s k u",
    "one_failed":                  "s k s k k s",
    "one_done":                    "s s s s k s",
    "none_failed":                 "u s u s s u",
    "none_failed_min_one_success": "u s u s k u",
    "none_skipped":                "s k k s k s",
    "always":                      "s s s s s s",
}
_NAMES = {"s": "success", "k": "skipped", "u": "upstream_failed"}

EXPECTED = {
    "dag_id": "trigger_rules",
    "state": "failed",
    "tasks": {
        "ok": "success", "ok2": "success", "bad": "failed", "bad2": "failed",
        "skip": "skipped", "skip2": "skipped",
        "all_success__ok_bad": "upstream_failed", "all_success__ok_skip": "skipped",
        "all_success__bad_skip": "upstream_failed", "all_success__ok_ok": "success",
        "all_success__skip_skip": "skipped", "all_success__bad_bad": "upstream_failed",
        "all_failed__ok_bad": "skipped", "all_failed__ok_skip": "skipped",
        "all_failed__bad_skip": "skipped", "all_failed__ok_ok": "skipped",
        "all_failed__skip_skip": "skipped", "all_failed__bad_bad": "success",
        "all_done__ok_bad": "success", "all_done__ok_skip": "success",
        "all_done__bad_skip": "success", "all_done__ok_ok": "success",
        "all_done__skip_skip": "success", "all_done__bad_bad": "success",
        "all_skipped__ok_bad": "skipped", "all_skipped__ok_skip": "skipped",
        "all_skipped__bad_skip": "skipped", "all_skipped__ok_ok": "skipped",
        "all_skipped__skip_skip": "success", "all_skipped__bad_bad": "skipped",
        "one_success__ok_bad": "success", "one_success__ok_skip": "success",
        "one_success__bad_skip": "upstream_failed", "one_success__ok_ok": "success",
        "one_success__skip_skip": "skipped", "one_success__bad_bad": "upstream_failed",
        "one_failed__ok_bad": "success", "one_failed__ok_skip": "skipped",
        "one_failed__bad_skip": "success", "one_failed__ok_ok": "skipped",
        "one_failed__skip_skip": "skipped", "one_failed__bad_bad": "success",
        "one_done__ok_bad": "success", "one_done__ok_skip": "success",
        "one_done__bad_skip": "success", "one_done__ok_ok": "success",
        "one_done__skip_skip": "skipped", "one_done__bad_bad": "success",
        "none_failed__ok_bad": "upstream_failed", "none_failed__ok_skip": "success",
        "none_failed__bad_skip": "upstream_failed", "none_failed__ok_ok": "success",
        "none_failed__skip_skip": "success", "none_failed__bad_bad": "upstream_failed",
        "none_failed_min_one_success__ok_bad": "upstream_failed",
        "none_failed_min_one_success__ok_skip": "success",
        "none_failed_min_one_success__bad_skip": "upstream_failed",
        "none_failed_min_one_success__ok_ok": "success",
        "none_failed_min_one_success__skip_skip": "skipped",
        "none_failed_min_one_success__bad_bad": "upstream_failed",
        "none_skipped__ok_bad": "success", "none_skipped__ok_skip": "skipped",
        "none_skipped__bad_skip": "skipped", "none_skipped__ok_ok": "success",
        "none_skipped__skip_skip": "skipped", "none_skipped__bad_bad": "success",
        "always__ok_bad": "success", "always__ok_skip": "success",
        "always__bad_skip": "success", "always__ok_ok": "success",
        "always__skip_skip": "success", "always__bad_bad": "success",
    },
}

with DAG("trigger_rules", schedule=None, default_args={"retries": 0}) as dag:
    sources = {
        "ok": PythonOperator(task_id="ok", python_callable=ok),
        "ok2": PythonOperator(task_id="ok2", python_callable=ok),
        "bad": PythonOperator(task_id="bad", python_callable=bad),
        "bad2": PythonOperator(task_id="bad2", python_callable=bad),
        "skip": PythonOperator(task_id="skip", python_callable=skip),
        "skip2": PythonOperator(task_id="skip2", python_callable=skip),
    }
    for rule in RULES:
        for combo, (left, right) in COMBOS.items():
            downstream = PythonOperator(task_id=f"{rule}__{combo}", python_callable=ok, trigger_rule=rule)
            [sources[left], sources[right]] >> downstream
