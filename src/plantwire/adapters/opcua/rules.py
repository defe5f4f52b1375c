"""The declared mapping of one OPC UA machine: tag names for node ids, and the rules over them.

Example::

    OpcUaMapping(
        source="opcua/plant-1000/press-7", key="press-7",
        nodes={"Counters/Good": "ns=2;s=Press7.GoodParts", "Order/Id": "ns=2;s=Press7.OrderId",
               "Order/Item": "ns=2;s=Press7.Item", "Order/Complete": "ns=2;s=Press7.OrderComplete"},
        rules=RuleSet((goods_completed("Counters/Good", order=Tag("Order/Id"), item=Tag("Order/Item"),
                                       plant="1000", storage_location="FG01"),
                       order_completed("Order/Complete", order=Tag("Order/Id"), item=Tag("Order/Item"),
                                       plant="1000", storage_location="FG01"))))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from plantwire.adapters._rules import RuleSet


@dataclass(frozen=True)
class OpcUaSettings:
    """Where the server is and how often it should report changes."""

    endpoint: str
    timeout: float = 4.0
    publishing_interval_ms: int = 100
    idle_check_s: float = 1.0


@dataclass(frozen=True)
class OpcUaMapping:
    """Which nodes of a machine to watch (tag name → node id) and the rules that read them."""

    source: str
    key: str
    nodes: Mapping[str, str]
    rules: RuleSet = field(default_factory=RuleSet)
