"""Watches a machine's OPC UA nodes and hands the events its rules derive to the intake."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from plantwire.adapters._common import Quarantine, backoff, hand_over_or_quarantine
from plantwire.adapters.opcua.client import OpcUaSession
from plantwire.adapters.opcua.rules import OpcUaMapping, OpcUaSettings
from plantwire.adapters.opcua.translate import Reading, derive
from plantwire.errors import InvalidEvent, TargetUnavailable
from plantwire.ports import Intake

log = logging.getLogger("plantwire.adapters.opcua")


class OpcUaSource:
    """An OPC UA source. OPC UA has no acknowledgement to give: what makes it safe is that tag
    values (counter baselines) survive reconnects, so a counter that moved while the link was down
    reports the whole difference on the first value after it."""

    def __init__(self, settings: OpcUaSettings, mapping: OpcUaMapping, intake: Intake,
                 quarantine: Quarantine | None = None, batch_size: int = 100) -> None:
        self.settings, self.mapping, self.intake = settings, mapping, intake
        self.quarantine = quarantine or Quarantine()
        self.batch_size = batch_size
        self.tags: dict[str, Any] = {}
        self.subscribed = asyncio.Event()
        self.handed_over = 0

    async def run(self) -> None:
        """Watch until cancelled, reconnecting with backoff."""
        attempt = 0
        while True:
            try:
                async with OpcUaSession(self.settings) as session:
                    await session.subscribe(self.mapping.nodes)
                    attempt = 0
                    self.subscribed.set()
                    while True:
                        await self._handle(await session.batch(self.batch_size))
            except TargetUnavailable as error:
                self.subscribed.clear()
                attempt += 1
                delay = backoff(attempt)
                log.warning("OPC UA %s; reconnecting in %.1fs (try %d)", error, delay, attempt)
                await asyncio.sleep(delay)

    async def _handle(self, readings: list[Reading]) -> None:
        derived = derive(self.mapping, self.tags, readings)
        if derived.issues:
            self.quarantine.add(self.mapping.source, InvalidEvent(derived.issues),
                                context={"readings": [repr(r) for r in readings]})
        await hand_over_or_quarantine(self.intake, derived.events, self.quarantine, self.mapping.source)
        self.handed_over += len(derived.events)
