"""How many instances a mapped task expands into, from its inputs' lengths (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from airlane.engine.graph import DagGraph, MappedSpec
from airlane.engine.run_state import TIKey, TIRecord
from airlane.sdk.state import TaskInstanceState

S = TaskInstanceState


def mapped_length(
    mapped: MappedSpec,
    graph: DagGraph,
    tis: Mapping[TIKey, TIRecord],
    keys_by_task: Mapping[str, Sequence[TIKey]],
) -> tuple[int, str | None]:
    """The number of map indexes of a mapped task or of the tasks of a mapped task group (the
    product of the expanded inputs' lengths, or the length of the expand_kwargs input), or 0
    and the problem when an input is unusable."""
    lengths: list[int] = []
    for item in mapped.inputs:
        if item.length is not None:
            lengths.append(item.length)
            continue
        assert item.xcom_task_id is not None
        keys = keys_by_task[item.xcom_task_id]
        if graph.expansion(item.xcom_task_id) is not None:
            lengths.append(sum(1 for k in keys if k.map_index >= 0 and tis[k].state is S.SUCCESS))
            continue
        record = tis[keys[0]]
        found = dict(record.xcom_lengths).get(item.xcom_key or "return_value")
        if found is None:
            if record.state is not S.SUCCESS:
                lengths.append(0)
                continue
            return 0, (
                f"expand() input {item.name!r} from task {item.xcom_task_id!r} "
                "is not a list or dict"
            )
        lengths.append(found)
    return (math.prod(lengths) if mapped.kind == "product" else lengths[0]), None
