"""What a try on a worker reaches in Redis besides its own XComs: Variables, connections, other
DAGs' run states (ExternalTaskSensor), human-in-the-loop details, and where the interpreters of
virtualenv tasks find all of it. Built once per process (the worker's, or a task process's) and
installed around each try, so that the two ways of running a try install the same stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import redis

from airlane.queue.keys import Keys
from airlane.sdk.asset_decorator import use_asset_lookup
from airlane.sdk.asset_runtime import use_asset_event_reader
from airlane.sdk.connection_store import use_connection_store
from airlane.sdk.hitl_detail import use_hitl_store
from airlane.sdk.run_states import use_run_state_lookup
from airlane.sdk.state_store import use_state_backend
from airlane.sdk.variable import use_variable_store
from airlane.sdk.venv_access import use_task_access
from airlane.service.connections.redis_store import RedisConnectionStore
from airlane.service.execution.redis_asset_events import RedisAssetEventReader
from airlane.service.execution.redis_hitl import RedisHITLStore
from airlane.service.execution.redis_run_states import RedisRunStateLookup
from airlane.service.execution.redis_state_store import RedisStateBackend
from airlane.service.execution.redis_variables import RedisVariableStore


@dataclass(frozen=True, slots=True)
class TaskStores:
    variables: RedisVariableStore
    connections: RedisConnectionStore
    run_states: RedisRunStateLookup
    hitl: RedisHITLStore
    #: the worker's Redis, for the interpreters that virtualenv tasks start
    redis_url: str
    key_prefix: str
    #: where inlet_events reads (sdk/asset_runtime.py)
    asset_events: RedisAssetEventReader | None = None
    #: where the state stores live (sdk/state_store.py)
    state: RedisStateBackend | None = None

    @classmethod
    def build(cls, sync_client: redis.Redis, keys: Keys, redis_url: str) -> TaskStores:
        return cls(
            RedisVariableStore(sync_client, keys),
            RedisConnectionStore(sync_client, keys),
            RedisRunStateLookup(sync_client, keys),
            RedisHITLStore(sync_client, keys),
            redis_url,
            keys.prefix,
            RedisAssetEventReader(sync_client, keys),
            RedisStateBackend(sync_client, keys),
        )

    @contextmanager
    def installed(self) -> Iterator[None]:
        """The stores, installed for the code of the try that runs inside this block."""
        with (
            use_variable_store(self.variables),
            use_connection_store(self.connections),
            use_run_state_lookup(self.run_states),
            use_hitl_store(self.hitl),
            use_task_access(self.redis_url, self.key_prefix),
            use_state_backend(self.state) if self.state is not None else nullcontext(),
        ):
            if self.asset_events is None:
                yield
                return
            with (
                use_asset_event_reader(self.asset_events),
                use_asset_lookup(self.asset_events.asset),
            ):
                yield
