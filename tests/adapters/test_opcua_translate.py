"""OPC UA readings to events through the shared rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from plantwire.adapters._rules import RuleSet, Tag, goods_completed
from plantwire.adapters.opcua.rules import OpcUaMapping
from plantwire.adapters.opcua.translate import Reading, derive, write_target
from plantwire.errors import InvalidEvent
from plantwire.ports import Command

MAPPING = OpcUaMapping("opcua/plant-1000/press-7", "press-7",
                       {"Good": "ns=2;s=Good", "Order": "ns=2;s=Order"},
                       RuleSet((goods_completed("Good", order=Tag("Order"), item="FG-1", plant="1000",
                                                storage_location="FG01"),)))
AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def test_counter_changes_become_completions_and_bad_readings_issues() -> None:
    tags: dict[str, Any] = {}
    derive(MAPPING, tags, [Reading("Order", "1000042", source_time=AT), Reading("Good", 10, source_time=AT)])
    out = derive(MAPPING, tags, [Reading("Good", 12, source_time=AT.replace(second=1)),
                                 Reading("Order", None, status="BadCommunicationError", source_time=AT),
                                 Reading("Good", 13)])
    assert [e["data"]["yield_quantity"]["value"] for e in out.events] == ["2"]
    assert out.events[0]["id"] == f"press-7/Good/{int(AT.timestamp()) * 1000 + 1000}/12"
    assert [i.rule for i in out.issues] == ["opcua-status", "opcua-timestamp"]
    assert "ns=2;s=Order" in out.issues[0].path and tags["Order"] == "1000042"


def test_write_commands_need_a_known_tag_and_a_value() -> None:
    assert write_target(MAPPING, Command("press-7", "write", {"tag": "Order", "value": "9"})) == (
        "ns=2;s=Order", "9")
    with pytest.raises(InvalidEvent):
        write_target(MAPPING, Command("press-7", "write", {"tag": "Nope", "value": 1}))
