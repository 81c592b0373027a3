"""API tokens on real API processes: checked against the users configured now, and revocable
one at a time (Airflow's ``GET /api/v2/auth/logout``, or by id) or all of a user's at once."""

from __future__ import annotations

import http.client
import signal
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.integration.cluster import SECRET, USERS, Api, Cluster, RedisServer, wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def nodes(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    """Only API processes (the routes used here need nothing else) on a flushed Redis."""
    redis_server = clean_redis
    (tmp_path / "dags").mkdir()
    cluster = Cluster(
        redis_server.url,
        tmp_path / "dags",
        tmp_path,
        AIRLANE_API_USERS=USERS + ",bob:bob-pw:admin,dora:dora-pw:admin",
        AIRLANE_API_SECRET=SECRET,
    )
    try:
        yield cluster
    finally:
        cluster.stop_all()


def _restart(nodes: Cluster, users: str) -> Api:
    """The API process stopped, and a new one started with ``users``."""
    for name, proc in list(nodes.procs.items()):
        if proc.poll() is None:
            nodes.signal(name, signal.SIGTERM)
    nodes.env["AIRLANE_API_USERS"] = users
    return Api.start(nodes)


def _token_id(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


def _get_no_redirect(api: Api, path: str, token: str) -> tuple[int, str]:
    """A GET whose redirect is returned rather than followed."""
    url = urllib.parse.urlsplit(api.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    finally:
        conn.close()


def test_a_removed_user_is_refused_and_a_demoted_admin_acts_with_the_new_role(
    nodes: Cluster,
) -> None:
    api = Api.start(nodes)
    bob, dora, alice = api.token("bob", "bob-pw"), api.token("dora", "dora-pw"), api.token()
    assert api.call("POST", "/api/v2/variables", {"key": "k1", "value": "v"}, token=bob)[0] == 201
    assert api.call("POST", "/api/v2/variables", {"key": "k2", "value": "v"}, token=bob)[0] == 201
    assert api.call("DELETE", "/api/v2/variables/k1", token=dora)[0] == 204

    # bob is gone and dora is a viewer now; the secret is the same, so the tokens still verify
    api = _restart(nodes, USERS + ",dora:dora-pw:viewer")
    assert api.call("GET", "/api/v2/variables", token=bob) == (401, {"detail": "Invalid token"})
    for method, path, body in (
        ("POST", "/api/v2/variables", {"key": "k3", "value": "v"}),
        ("PATCH", "/api/v2/pools/default_pool", {"slots": 3}),
        ("DELETE", "/api/v2/variables/k2", None),
    ):
        assert api.call(method, path, body, token=bob)[0] == 401, (method, path)
    assert api.call("DELETE", "/api/v2/variables/k2", token=dora)[0] == 403
    assert api.call("GET", "/api/v2/variables/k2", token=dora)[0] == 200
    assert api.call("GET", "/api/v2/variables/k2", token=alice)[0] == 200


def test_revoking_one_token_leaves_the_others_working(nodes: Cluster) -> None:
    api = Api.start(nodes)
    admin, first, second = api.token(), api.token("bob", "bob-pw"), api.token("bob", "bob-pw")
    status, _ = api.call("DELETE", f"/api/v2/auth/tokens/{_token_id(first)}", token=admin)
    assert status == 204
    assert api.call("GET", "/api/v2/dags", token=first) == (
        401,
        {"detail": "Token has been revoked"},
    )
    assert api.call("GET", "/api/v2/dags", token=second)[0] == 200
    # only admins revoke other tokens by id
    viewer = api.token("victor", "viewer-pw")
    status, _ = api.call("DELETE", f"/api/v2/auth/tokens/{_token_id(second)}", token=viewer)
    assert status == 403
    assert api.call("GET", "/api/v2/dags", token=second)[0] == 200

    # Airflow's logout revokes the token it is sent with and redirects to the sign-in page
    assert _get_no_redirect(api, "/api/v2/auth/logout", second) == (307, "/ui/")
    assert api.call("GET", "/api/v2/dags", token=second)[0] == 401
    # and its login redirects there too, without a token, carrying a next on this server
    assert _get_no_redirect(api, "/api/v2/auth/login", "") == (307, "/ui/#/login")
    to_dags = "/api/v2/auth/login?next=%2Fui%2F%23%2Fdags"
    assert _get_no_redirect(api, to_dags, "") == (307, "/ui/#/login?next=/ui/%23/dags")
    elsewhere = "/api/v2/auth/login?next=https%3A%2F%2Fevil.example%2F"
    assert _get_no_redirect(api, elsewhere, "")[0] == 400
    assert api.call("GET", "/api/v2/dags", token=admin)[0] == 200


def test_revoking_all_tokens_of_a_user_in_every_api_process(nodes: Cluster) -> None:
    one, other = Api.start(nodes), Api.start(nodes)
    earlier = [one.token("victor", "viewer-pw"), other.token("victor", "viewer-pw")]
    alice = one.token()
    # a viewer may not revoke someone else's tokens, but may revoke their own
    assert one.call("DELETE", "/api/v2/auth/users/alice/tokens", token=earlier[0])[0] == 403
    assert one.call("DELETE", "/api/v2/auth/users/victor/tokens", token=earlier[0])[0] == 204
    for token in earlier:
        assert one.call("GET", "/api/v2/dags", token=token)[0] == 401
    # the other process sees the revocation once its one-second cache refreshes
    wait_until(
        lambda: all(other.call("GET", "/api/v2/dags", token=t)[0] == 401 for t in earlier),
        10,
        "the other API process to refuse the revoked tokens",
    )
    later = other.token("victor", "viewer-pw")
    assert one.call("GET", "/api/v2/dags", token=later)[0] == 200
    assert other.call("GET", "/api/v2/dags", token=later)[0] == 200
    assert other.call("GET", "/api/v2/dags", token=alice)[0] == 200
