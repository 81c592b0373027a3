"""Log limits and paged log reads on real processes: a worker capping what tries print (set
small here), and a log of many MB read through the API in pages, streamed, and by the CLI."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airlane.queue.log_pages import PAGE_MAX_BYTES
from tests.conftest import TEST_DAGS, run_cli
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(300)

MAX_BYTES_PER_TRY = 64 * 1024
MAX_LINE_BYTES = 4096
RUN_ID = "heavy"


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("logs")
    shutil.copytree(TEST_DAGS / "logs", work / "dags")
    with api_cluster(
        redis_server,
        work,
        work / "dags",
        workers=1,
        AIRLANE_LOG_MAX_BYTES_PER_TRY=str(MAX_BYTES_PER_TRY),
        AIRLANE_LOG_MAX_LINE_BYTES=str(MAX_LINE_BYTES),
    ) as api:
        api.cluster.wait_for_dags("log_heavy", "log_live")
        api.cluster.trigger("log_heavy", RUN_ID)
        assert api.cluster.wait_run("log_heavy", RUN_ID)["state"] == "success"
        yield api


def _stored(api: Api, task_id: str) -> list[str]:
    return api.cluster.log_lines("log_heavy", RUN_ID, task_id, 1)


def test_a_try_printing_past_its_cap_keeps_head_marker_and_last_lines(api: Api) -> None:
    lines = _stored(api, "chatty")
    markers = [line for line in lines if "***" in line]
    text_bytes = sum(len(line.encode()) for line in lines if line not in markers)
    assert text_bytes <= MAX_BYTES_PER_TRY
    assert len(markers) == 2
    assert "log truncated" in markers[0]
    assert "AIRLANE_LOG_MAX_BYTES_PER_TRY" in markers[0]
    assert re.search(r"\*\*\* [\d,]+ lines \([\d,]+ bytes\) dropped here", markers[1])
    assert "try 1 of chatty" in lines[0]  # the head stays
    assert "line 00000 " in lines[1]
    assert lines.index(markers[0]) < lines.index(markers[1])
    printed = [line for line in lines if "line 0" in line]
    assert printed[-1].endswith("line 04999 " + "x" * 100)  # and so do the last lines
    assert len(printed) < 5000


def test_a_huge_line_is_kept_in_pieces_within_the_try_cap(api: Api) -> None:
    """A 2 MB line is split into entries of the line limit (never cut, never fatal); the try's
    byte cap then keeps the head and the last lines, with its marker."""
    lines = _stored(api, "huge")
    stamp = len("[00:00:00] ")
    pieces = [line[stamp:] for line in lines if "yyyy" in line]
    assert pieces
    assert all(piece == "y" * MAX_LINE_BYTES for piece in pieces[:-1])
    assert not any("line cut" in line for line in lines)
    assert any("log truncated" in line for line in lines)
    assert any(line.endswith("before") for line in lines)
    assert any(line.endswith("after") for line in lines)


def _many_mb_log(api: Api) -> list[str]:
    """About 40 MB straight into try 1 of ``quiet`` (beyond the cap: logs written before a
    cap was lowered, or under a larger one, must read the same way)."""
    key = api.cluster.keys.log("log_heavy", RUN_ID, "quiet", -1, 1)
    client = api.cluster.redis()
    client.delete(key)
    lines = [f"{i:06d} " + "z" * 992 for i in range(40_000)]
    for start in range(0, len(lines), 4000):
        pipe = client.pipeline(transaction=False)
        for line in lines[start : start + 4000]:
            pipe.xadd(key, {"line": line})
        pipe.execute()
    return lines


def _get(api: Api, path: str, token: str, accept: str) -> tuple[dict[str, str], bytes]:
    request = urllib.request.Request(api.url + path)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", accept)
    with urllib.request.urlopen(request, timeout=60) as response:
        return dict(response.headers), response.read()


def _peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


def test_a_log_of_many_mb_is_read_in_pages_streamed_and_printed(api: Api) -> None:
    lines = _many_mb_log(api)
    token = api.token()
    path = f"/api/v2/dags/log_heavy/dagRuns/{RUN_ID}/taskInstances/quiet/logs/1"
    api_pid = api.cluster.procs["api0"].pid
    Path(f"/proc/{api_pid}/clear_refs").write_text("5")  # the peak RSS starts again from now
    before_kb = _peak_rss_kb(api_pid)

    read: list[str] = []
    pages = 0
    continuation: str | None = None
    while True:
        query = f"?token={continuation}" if continuation else ""
        status, body = api.call("GET", path + query, token=token)
        assert status == 200
        page = [entry["event"] for entry in body["content"]]
        assert sum(len(line) + 1 for line in page) <= PAGE_MAX_BYTES + 1001
        read.extend(page)
        pages += 1
        continuation = body["continuation_token"]
        if continuation is None:
            break
    assert pages >= 38  # 40 MB in pages of at most 1 MiB
    assert read == lines

    headers, ndjson = _get(api, path, token, "application/x-ndjson")
    assert "Airflow-Continuation-Token" not in headers  # the try has ended
    assert [json.loads(row)["event"] for row in ndjson.splitlines()] == lines
    _, full = _get(api, path + "?full_content=true", token, "application/json")
    document: dict[str, Any] = json.loads(full)
    assert [entry["event"] for entry in document["content"]] == lines
    assert document["continuation_token"] is None
    _, text = _get(api, path, token, "text/plain")
    assert text.decode() == "".join(line + "\n" for line in lines)
    # Four reads of a 40 MB log, three of them whole: the API held a few pages at a time
    # (about 11 MB of peak growth here, against over 100 MB when a read was one piece).
    assert _peak_rss_kb(api_pid) - before_kb < 32 * 1024

    status, body = api.call("GET", path + "?token=not-a-token", token=token)
    assert status == 400

    printed = run_cli(
        "tasks",
        "logs",
        "log_heavy",
        RUN_ID,
        "quiet",
        env={"AIRLANE_REDIS_URL": api.cluster.redis_url},
    )
    assert printed.code == 0, printed.stderr
    assert printed.stdout == "".join(line + "\n" for line in lines)


def test_a_running_try_hands_out_a_token_to_poll_with_until_it_ends(api: Api) -> None:
    token = api.token()
    api.cluster.wait_for_dags("log_live")
    api.cluster.trigger("log_live", "live")
    path = "/api/v2/dags/log_live/dagRuns/live/taskInstances/waits/logs/1"

    def first_page() -> dict[str, Any] | None:
        status, body = api.call("GET", path, token=token)
        events = [entry["event"] for entry in body.get("content", [])] if status == 200 else []
        return body if any(e.endswith("first line") for e in events) else None

    body = wait_until(first_page, 60, "the try's first line")
    continuation = body["continuation_token"]
    assert continuation is not None  # running: more may come
    headers, _ = _get(api, path, token, "application/x-ndjson")
    assert headers.get("Airflow-Continuation-Token")
    (api.cluster.markers / "log_live_go").touch()
    assert api.cluster.wait_run("log_live", "live")["state"] == "success"
    status, rest = api.call("GET", f"{path}?token={continuation}", token=token)
    assert status == 200
    events = [entry["event"] for entry in rest["content"]]
    assert any(e.endswith("last line") for e in events)  # what came after the token
    assert not any(e.endswith("first line") for e in events)  # and only that
    assert rest["continuation_token"] is None  # read to its end, and the try has ended
