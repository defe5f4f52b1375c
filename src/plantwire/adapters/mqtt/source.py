"""Reads mapped JSON topics, hands one event per message to the intake, then acknowledges (PUBACK)."""

from __future__ import annotations

import asyncio
from typing import Any

from plantwire.adapters._common import Quarantine, hand_over_or_quarantine
from plantwire.adapters.mqtt.client import BrokerSettings, MqttSession, Received, consume
from plantwire.adapters.mqtt.rules import MqttMapping
from plantwire.adapters.mqtt.translate import route_for, to_event
from plantwire.errors import InvalidEvent
from plantwire.ports import Intake


class MqttJsonSource:
    """An MQTT JSON source: QoS 1, persistent session, acknowledged only after the intake kept it.

    Unmappable messages (bad JSON, missing fields, no mapping) are quarantined and then acknowledged,
    since the broker giving them again would not help; `quarantine` says what and why.
    """

    def __init__(self, settings: BrokerSettings, mapping: MqttMapping, intake: Intake,
                 quarantine: Quarantine | None = None, batch_size: int = 50) -> None:
        self.settings, self.mapping, self.intake = settings, mapping, intake
        self.quarantine = quarantine or Quarantine()
        self.batch_size = batch_size
        self.subscribed = asyncio.Event()
        self.received = 0
        self.handed_over = 0

    async def run(self) -> None:
        """Consume until cancelled, reconnecting with backoff."""
        await consume(self.settings, self.mapping.filters(), self._handle, self.subscribed, self.batch_size)

    async def _handle(self, session: MqttSession, batch: list[Received]) -> None:
        events: list[dict[str, Any]] = []
        for message in batch:
            self.received += 1
            try:
                events.append(to_event(route_for(self.mapping, message.topic), message.topic,
                                       message.payload))
            except InvalidEvent as error:
                self.quarantine.add(message.topic, error, message.payload)
        await hand_over_or_quarantine(self.intake, events, self.quarantine, "mqtt")
        self.handed_over += len(events)
