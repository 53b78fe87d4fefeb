"""Plan OPC UA reads (pure): the measures' nodes in Read requests of at most ``max_nodes`` each.

OPC UA reads any set of nodes in one request, so there is nothing to merge: a plan is the
controller's nodes cut into batches the server accepts (its MaxNodesPerRead, which the driver
learns when it connects). Measures on the same node share one entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.southbound import Point, ReadPlan

from .addresses import NodeAddress, check_point


@dataclass
class Node:
    """One node to read and the measures that show it."""

    address: str
    parsed: NodeAddress
    points: list[Point] = field(default_factory=list)


@dataclass
class OpcUaPlan(ReadPlan):
    """The controller's nodes, in batches of at most ``max_nodes``."""

    nodes: list[Node]
    max_nodes: int
    request_count: int = 0

    def __post_init__(self) -> None:
        self.fit(self.max_nodes)

    def fit(self, max_nodes: int) -> None:
        """Cut the requests to at most ``max_nodes`` nodes (the server's limit, once known)."""
        self.max_nodes = max_nodes
        self.request_count = -(-len(self.nodes) // max_nodes)

    def batches(self) -> list[list[Node]]:
        """Return the nodes cut into requests."""
        return [self.nodes[i:i + self.max_nodes] for i in range(0, len(self.nodes), self.max_nodes)]


def plan_reads(points: Sequence[Point], max_nodes: int) -> OpcUaPlan:
    """Build the plan: one entry per distinct node, in the order the measures name them."""
    nodes: dict[str, Node] = {}
    for point in points:
        parsed = check_point(point)
        nodes.setdefault(point.address, Node(point.address, parsed)).points.append(point)
    return OpcUaPlan(list(nodes.values()), max_nodes)
