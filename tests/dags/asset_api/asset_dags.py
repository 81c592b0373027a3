"""A producer of ``orders``, a consumer scheduled on it, and a consumer of an asset watched on
a Redis stream (the REST and watcher tests of issue 18)."""

from __future__ import annotations

import os

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airlane.sdk.triggers.redis_stream import RedisStreamTrigger

orders = Asset("orders", uri="s3://bucket/orders")
stream = RedisStreamTrigger(stream="asset-api-orders", redis_url=os.environ["AIRLANE_REDIS_URL"])
watched = Asset("watched_orders", watchers=[AssetWatcher("orders_stream", stream)])

with DAG("asset_producer", schedule=None):

    @task(outlets=[orders])
    def make() -> None:
        pass

    make()

with DAG("asset_consumer", schedule=[orders]):

    @task(inlets=[orders])
    def read() -> None:
        pass

    read()

with DAG("stream_consumer", schedule=[watched]):

    @task
    def handle() -> None:
        pass

    handle()
