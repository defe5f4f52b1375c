"""A Sparkplug B host application as a source: state per edge node, events to the intake."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from plantwire.adapters._common import Quarantine, hand_over_or_quarantine
from plantwire.adapters.sparkplug.client import BrokerSettings, MqttSession, Received, consume
from plantwire.adapters.sparkplug.rules import SparkplugMapping
from plantwire.adapters.sparkplug.sink import SparkplugSink
from plantwire.adapters.sparkplug.translate import RebirthRequest, SparkplugHost
from plantwire.errors import InvalidEvent, TargetUnavailable
from plantwire.ports import Intake

log = logging.getLogger("plantwire.adapters.sparkplug")


class SparkplugSource:
    """Subscribes to ``spBv1.0/<group>/#``, runs each message through `SparkplugHost`, hands the
    derived events to the intake before acknowledging, asks for rebirths through the sink, and
    quarantines what it cannot read (bad protobuf, unknown alias, a rule missing a tag)."""

    def __init__(self, settings: BrokerSettings, mapping: SparkplugMapping, intake: Intake,
                 sink: SparkplugSink | None = None, quarantine: Quarantine | None = None,
                 batch_size: int = 50) -> None:
        self.settings, self.mapping, self.intake = settings, mapping, intake
        self.sink = sink or SparkplugSink(settings)
        self.quarantine = quarantine or Quarantine()
        self.host = SparkplugHost(mapping)
        self.batch_size = batch_size
        self.subscribed = asyncio.Event()
        self.rebirths: list[RebirthRequest] = []
        self.notes: list[str] = []

    async def run(self) -> None:
        """Consume until cancelled, reconnecting with backoff."""
        await consume(self.settings, self.mapping.filters(), self._handle, self.subscribed, self.batch_size)

    async def _handle(self, session: MqttSession, batch: list[Received]) -> None:
        events: list[dict[str, Any]] = []
        rebirths: list[RebirthRequest] = []
        for message in batch:
            outcome = self.host.handle(message.topic, message.payload)
            events.extend(outcome.events)
            rebirths.extend(outcome.rebirths)
            self.notes.extend(outcome.notes)
            if outcome.issues:
                self.quarantine.add(message.topic, InvalidEvent(outcome.issues), message.payload)
        # The host state has moved on, so the events must be kept before anything else can fail.
        await hand_over_or_quarantine(self.intake, events, self.quarantine, "sparkplug")
        for request in rebirths:
            await self._rebirth(session, request)

    async def _rebirth(self, session: MqttSession, request: RebirthRequest) -> None:
        self.rebirths.append(request)
        log.info("asking %s/%s to rebirth: %s", request.group, request.edge_node, request.reason)
        try:
            await self.sink.rebirth(request, session)
        except TargetUnavailable as error:
            # The connection is gone (consume reconnects); ask again on the node's next bad message.
            log.warning("rebirth request for %s/%s not sent: %s", request.group, request.edge_node, error)
            self.host.nodes[(request.group, request.edge_node)].awaiting_rebirth = False
