"""The Assets page (each asset, its producers and consumers, its latest events, live) and asset
nodes on DAG graphs, in real Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login, shot
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(120)
DAGS = ("asset_producer", "asset_consumer", "stream_consumer")


def _asset_count(api: Api, token: str) -> int:
    return len(api.call("GET", "/api/v2/assets", token=token)[1]["assets"])


@pytest.fixture(scope="module")
def ui(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The services on the asset test DAGs (this module's own: the page fixture uses it)."""
    work = tmp_path_factory.mktemp("ui_assets")
    shutil.copytree(TEST_DAGS / "asset_api", work / "dags")
    with api_cluster(redis_server, work, work / "dags", workers=0) as api:
        api.cluster.wait_for_dags(*DAGS, timeout_s=60)
        token = api.token()
        # the coordinator registers the DAGs' assets as it takes each DAG
        wait_until(lambda: _asset_count(api, token) == 2, 30, "the assets")
        yield api


def test_the_assets_page_and_asset_nodes_on_graphs(page: Page, ui: Api) -> None:
    token = ui.token()
    login(page)
    page.goto("/ui/#/assets")
    row = page.locator("table.assets tr[data-asset=orders]")
    expect(row.locator("td.producers")).to_have_text("asset_producer / make")
    expect(row.locator("td.consumers")).to_contain_text("asset_consumer")
    expect(row.locator("td.latest")).to_have_text("none yet")
    _, assets = ui.call("GET", "/api/v2/assets?name_pattern=orders", token=token)
    asset_id = next(a["id"] for a in assets["assets"] if a["name"] == "orders")
    status, event = ui.call("POST", "/api/v2/assets/events", {"asset_id": asset_id}, token)
    assert status == 200, event
    # live: the page hears the event on the stream
    expect(row.locator(f"li[data-event-id='{event['id']}']")).to_contain_text("from API")
    shot(page, "40-assets")
    page.goto("/ui/#/dags/asset_consumer?tab=graph")
    upstream = page.locator(".graph-svg .asset-node[data-asset=orders]")
    expect(upstream).to_be_visible()
    page.goto("/ui/#/dags/asset_consumer?tab=details")
    expect(page.locator("dl.details dt:text-is('Assets') + dd")).to_have_text("orders")
    page.goto("/ui/#/dags/asset_producer?tab=graph")
    expect(page.locator(".graph-svg .asset-node[data-asset=orders]")).to_be_visible()
    expect(page.locator(".graph-svg .node[data-task-id=make]")).to_be_visible()
    shot(page, "41-asset-graph")
