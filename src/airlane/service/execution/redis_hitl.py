"""HITL details for running tasks on Redis: the store HITL operators use on workers.

The operator runs in a worker thread (its ``execute`` is synchronous): a synchronous client.
Keys and formats: :mod:`airlane.queue.hitl`.
"""

from __future__ import annotations

from typing import cast

import redis

from airlane.queue.hitl import decode_detail, encode
from airlane.queue.keys import Keys, run_ref, ti_field
from airlane.sdk.hitl_detail import HITLDetail, HITLIdent, HITLRequest, HITLResponse


class RedisHITLStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def read(self, ident: HITLIdent) -> HITLDetail | None:
        field_name = ti_field(ident.task_id, ident.map_index)
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self.keys.hitl(ident.dag_id, ident.run_id), field_name)
        pipe.hget(self.keys.hitl_responses(ident.dag_id, ident.run_id), field_name)
        raw_request, raw_response = cast(list[str | None], pipe.execute())
        return None if raw_request is None else decode_detail(raw_request, raw_response)

    def ask(self, ident: HITLIdent, request: HITLRequest) -> None:
        field_name = ti_field(ident.task_id, ident.map_index)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.keys.hitl(ident.dag_id, ident.run_id), field_name, encode(request))
        pipe.hdel(self.keys.hitl_responses(ident.dag_id, ident.run_id), field_name)
        pipe.sadd(self.keys.hitl_runs, run_ref(ident.dag_id, ident.run_id))
        pipe.execute()

    def respond(self, ident: HITLIdent, response: HITLResponse) -> HITLResponse:
        key = self.keys.hitl_responses(ident.dag_id, ident.run_id)
        field_name = ti_field(ident.task_id, ident.map_index)
        if self.client.hsetnx(key, field_name, encode(response)):
            return response
        detail = self.read(ident)
        if detail is None or detail.response is None:
            return response  # the run went meanwhile: what this try decided stands
        return detail.response
