"""The event stream under load on a real API process: 200 clients, limits, bad ids, slow clients."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(300)

PER_USER = 100
IDLE_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("events")
    shutil.copytree(TEST_DAGS / "api", work / "dags")
    env = {
        "AIRLANE_API_SSE_MAX_PER_USER": str(PER_USER),
        "AIRLANE_API_IDLE_TIMEOUT_S": str(IDLE_TIMEOUT_S),
    }
    with api_cluster(redis_server, work, work / "dags", workers=1, **env) as api:
        api.cluster.wait_for_dags("api_chain")
        yield api


class Viewer:
    """One SSE client: connected once ``: connected`` arrives; records the runs it sees."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.runs: set[str] = set()
        self.saw_run = asyncio.Event()

    async def follow(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(url, headers=headers) as response:
            assert response.status == 200, await response.text()
            async for raw in response.content:
                line = raw.decode()
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("data: "):
                    data = orjson.loads(line[6:])
                    if data["kind"] == "run":
                        self.runs.add(data["run_id"])
                        self.saw_run.set()


def _api_connections(api: Api) -> list[str]:
    client = api.cluster.redis()
    try:
        return [c["name"] for c in client.client_list() if c["name"].startswith("airlane-api")]
    finally:
        client.close()


def test_two_hundred_streams_leave_the_other_routes_answering(api: Api) -> None:
    tokens = {"alice": api.token(), "victor": api.token("victor", "viewer-pw")}
    url = f"{api.url}/api/v2/events?kind=run"

    async def scenario() -> None:
        streams = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None)
        async with aiohttp.ClientSession(connector=streams, timeout=timeout) as session:
            viewers = [Viewer() for _ in range(2 * PER_USER)]
            users = ["alice", "victor"] * PER_USER
            tasks = []
            for start in range(0, len(viewers), 20):  # connect in bounded batches
                batch = range(start, start + 20)
                tasks += [
                    asyncio.create_task(viewers[i].follow(session, url, tokens[users[i]]))
                    for i in batch
                ]
                await asyncio.wait_for(
                    asyncio.gather(*(viewers[i].connected.wait() for i in batch)), 60
                )
            try:
                await _check_while_streaming(session, viewers, tokens)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _check_while_streaming(
        session: aiohttp.ClientSession, viewers: list[Viewer], tokens: dict[str, str]
    ) -> None:
        # Each user is at their limit: one more stream is refused before it starts.
        headers = {"Authorization": f"Bearer {tokens['alice']}"}
        async with session.get(url, headers=headers) as response:
            assert response.status == 503
            assert int(response.headers["Retry-After"]) > 0
            assert "user" in (await response.json())["detail"]
        probes = await asyncio.gather(
            *(asyncio.to_thread(_probe, tokens["victor"]) for _ in range(35))
        )
        assert probes == [200] * 35
        names = _api_connections(api)
        # the reader, the log reader and the backlog pool, whatever the number of streams
        assert names.count("airlane-api-events") <= 6
        assert len(names) <= 40, names
        run_id = f"fanout_{time.time_ns()}"
        status, _ = await asyncio.to_thread(
            api.call,
            "POST",
            "/api/v2/dags/api_chain/dagRuns",
            {"dag_run_id": run_id},
            tokens["alice"],
        )
        assert status == 200
        sample = viewers[::20]
        await asyncio.wait_for(asyncio.gather(*(_sees(v, run_id) for v in sample)), 60)

    def _probe(token: str) -> int:
        status, _ = api.call("GET", "/api/v2/dags", token=token)
        return status

    async def _sees(viewer: Viewer, run_id: str) -> None:
        while True:
            viewer.saw_run.clear()
            if run_id in viewer.runs:
                return
            await viewer.saw_run.wait()

    asyncio.run(scenario())
    assert _api_connections(api).count("airlane-api-events") <= 6
    # The clients are gone: the API notices and their slots are free again.
    wait_until(lambda: _stream_status(api, tokens["alice"]) == 200, 30, "alice's slots freed")


def _stream_status(api: Api, token: str) -> int:
    async def ask() -> int:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{api.url}/api/v2/events", headers=headers) as response,
        ):
            return response.status

    return asyncio.run(ask())


@pytest.mark.parametrize(
    ("header", "query", "loc"),
    [
        (None, "99999999999999999999999-0", ["query", "last_event_id"]),
        (None, "1-18446744073709551616", ["query", "last_event_id"]),
        ("yesterday", None, ["header", "Last-Event-ID"]),
        ("18446744073709551616-0", "1-0", ["header", "Last-Event-ID"]),
    ],
)
def test_a_bad_resume_point_is_refused_before_the_stream_starts(
    api: Api, header: str | None, query: str | None, loc: list[str]
) -> None:
    token = api.token()

    async def ask() -> tuple[int, str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        if header is not None:
            headers["Last-Event-ID"] = header
        params = {"last_event_id": query} if query is not None else {}
        async with aiohttp.ClientSession() as session:
            url = f"{api.url}/api/v2/events"
            async with session.get(url, headers=headers, params=params) as response:
                return response.status, response.content_type, await response.json()

    status, content_type, body = asyncio.run(ask())
    assert (status, content_type) == (422, "application/json")
    assert body["detail"][0]["loc"] == loc


def test_the_largest_stream_id_is_a_valid_resume_point(api: Api) -> None:
    token = api.token()

    async def first_line() -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": f"{2**64 - 1}-0"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{api.url}/api/v2/events", headers=headers) as response,
        ):
            return response.status, await response.content.readline()

    assert asyncio.run(first_line()) == (200, b": connected\n")


@pytest.mark.parametrize("trickle", [False, True])
def test_a_client_that_never_finishes_its_headers_is_disconnected(api: Api, trickle: bool) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"GET /api/v2/events HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(0.5 if trickle else 30)
        deadline = time.monotonic() + 30
        closed = False
        while not closed and time.monotonic() < deadline:
            try:
                closed = sock.recv(1024) == b""
            except TimeoutError:
                try:
                    sock.sendall(b"X")  # one more byte of a header that never ends
                except OSError:
                    closed = True
            except OSError:
                closed = True
        assert closed, "the server still holds a connection whose headers never ended"


def test_a_live_stream_starts_with_a_resume_point(api: Api) -> None:
    """A client whose stream ends before its first event still resumes from its connection
    on: the first frame carries the stream's position, and nothing after it is missed."""
    token = api.token()
    headers = {"Authorization": f"Bearer {token}"}

    async def position() -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{api.url}/api/v2/events", headers=headers) as response,
        ):
            assert await response.content.readline() == b": connected\n"
            line = (await response.content.readline()).decode()
            assert line.startswith("id: ")
            return line[4:].strip()

    async def resumed(since: str, run_id: str) -> None:
        resume = {**headers, "Last-Event-ID": since}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{api.url}/api/v2/events", headers=resume) as response,
        ):
            async with asyncio.timeout(60):
                while run_id.encode() not in await response.content.readline():
                    pass

    since = asyncio.run(position())
    run_id = api.cluster.trigger("api_chain")  # after the first stream ended
    asyncio.run(resumed(since, run_id))
