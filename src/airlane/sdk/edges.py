"""Edge labels: ``a >> Label("when empty") >> b``."""

from __future__ import annotations

from typing import Any

from airlane.sdk.node import DAGNode, add_edge, resolve_nodes


class EdgeModifier:
    """Collects the tasks on each side of a labelled edge and wires them with the label."""

    def __init__(self, label: str | None = None) -> None:
        self.label = label
        self.upstream_nodes: list[DAGNode] = []
        self.downstream_nodes: list[DAGNode] = []

    def __rshift__(self, other: Any) -> Any:
        for target in resolve_nodes(other, as_upstream=False):
            for node in self.upstream_nodes:
                add_edge(node, target, self.label)
        return other

    def __lshift__(self, other: Any) -> Any:
        for target in resolve_nodes(other, as_upstream=True):
            for node in self.downstream_nodes:
                add_edge(target, node, self.label)
        return other

    def __rrshift__(self, other: Any) -> EdgeModifier:
        self.upstream_nodes.extend(resolve_nodes(other, as_upstream=True))
        return self

    def __rlshift__(self, other: Any) -> EdgeModifier:
        self.downstream_nodes.extend(resolve_nodes(other, as_upstream=False))
        return self


def Label(label: str) -> EdgeModifier:
    """A labelled edge, shown in the graph view."""
    return EdgeModifier(label)
