"""The declared mapping of MQTT JSON topics to canonical events.

Paths into the payload are dotted keys with optional list indexes (``counts.good``, ``lots[0].id``);
templates put values in braces: ``{topic[2]}`` is the third topic level, anything else a payload path
(``"{order}/{seq}"``). A field whose path holds braces is a template too, and always a string.
Example::

    TopicMapping(
        topic="plant/+/line/+/completion", event_type="production.goods.completed",
        source="mes/plant-{topic[1]}/line-{topic[3]}", id="{order}/{seq}",
        fields={"order_id": "order", "item_id": "item", "completion_id": "{order}-{seq}",
                "yield_quantity.value": "good", "storage_location": "location", "completed_at": "ts"},
        constants={"plant": "1000", "yield_quantity.uom": "EA"}, time="ts", plant="{topic[1]}")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TopicMapping:
    """How each message on one topic filter becomes one canonical event."""

    topic: str
    event_type: str
    source: str
    id: str
    fields: Mapping[str, str]
    constants: Mapping[str, Any] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()
    time: str | None = None
    plant: str | None = None


@dataclass(frozen=True)
class MqttMapping:
    """All mapped topics of one source; the first mapping whose filter matches a topic wins."""

    topics: Sequence[TopicMapping]

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        return list(dict.fromkeys(t.topic for t in self.topics))


@dataclass(frozen=True)
class CommandRoute:
    """Where a sink publishes one kind of command: a topic template over the command payload."""

    topic: str
    qos: int = 1
