"""The agent's configured sources: one supervised asyncio task each, the outbox as their Intake.

Each source is the adapter itself (MqttJsonSource, SparkplugSource, OpcUaSource) handing events to
an EdgeIntake on the agent's outbox, so it acknowledges its broker only after the outbox fsync'd
them. Adapters reconnect on their own when their server is away; a source that fails in any other
way is restarted here with backoff (same adapter object, so Sparkplug node state and OPC UA counter
baselines survive). `snapshot()` says how each is doing, for `/v1/status` and `plantwire edge status`.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

import structlog

from plantwire.adapters._common import Quarantine, Quarantined, backoff
from plantwire.adapters.mqtt.client import MqttSession, Received
from plantwire.adapters.mqtt.source import MqttJsonSource
from plantwire.adapters.opcua.source import OpcUaSource
from plantwire.adapters.opcua.translate import Reading
from plantwire.adapters.sparkplug.source import SparkplugSource
from plantwire.edge.config import (
    EdgeConfig,
    MqttSourceConfig,
    OpcUaSourceConfig,
    SourceConfig,
    SparkplugSourceConfig,
)
from plantwire.edge.intake import EdgeIntake
from plantwire.edge.outbox import OutboxFull
from plantwire.edge.settings import PRIORITY_NAMES
from plantwire.ports import Clock

log = structlog.get_logger("plantwire.edge.sources")
HEALTHY_AFTER = 60.0  # a source that ran this long before failing starts its backoff afresh
RECENT_QUARANTINED = 10
PREVIEW = 300  # bytes of a quarantined payload shown in status


class SourceStats:
    """What one source did: messages seen, receipts by status, quarantined input, failures."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.messages = 0
        self.last_message_at: float | None = None
        self.receipts: Counter[str] = Counter()
        self.last_kept_at: float | None = None
        self.quarantined: deque[tuple[float, Quarantined]] = deque(maxlen=RECENT_QUARANTINED)
        self.restarts = 0
        self.last_error: str | None = None
        self.failed_at: float | None = None
        self.retry_at: float | None = None
        self.stopped = False

    def saw(self, count: int) -> None:
        """A batch of `count` messages (or readings) came in."""
        self.messages += count
        self.last_message_at = self.clock.now()

    def kept(self, receipts: Sequence[dict[str, Any]]) -> None:
        """The outbox answered for a batch of events."""
        self.receipts.update(str(r.get("status")) for r in receipts)
        self.last_kept_at = self.clock.now()

    def quarantine(self, item: Quarantined) -> None:
        """The adapter could not map some input (called by its Quarantine)."""
        self.quarantined.append((self.clock.now(), item))


class OutboxIntake:
    """The Intake of one source: the outbox's, counting receipts and raising the outbox-full alarm.

    A write the outbox has begun is finished even when the source is cancelled (`drain` waits for
    it), so stopping never leaves a write half-done; the source was not acknowledged for it, and the
    redelivery is a harmless duplicate.
    """

    def __init__(self, inner: EdgeIntake, stats: SourceStats, on_full: Callable[[], None]) -> None:
        self.inner, self.stats, self.on_full = inner, stats, on_full
        self._writing: set[asyncio.Task[list[dict[str, Any]]]] = set()

    async def accept(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep the events in the outbox (fsync'd) and return one receipt per event."""
        task = asyncio.ensure_future(self.inner.accept(events))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)
        try:
            receipts = await asyncio.shield(task)
        except OutboxFull:
            self.on_full()
            raise
        self.stats.kept(receipts)
        return receipts

    async def drain(self) -> None:
        """Wait for writes in progress."""
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)


class _EdgeMqtt(MqttJsonSource):
    stats: SourceStats

    async def _handle(self, session: MqttSession, batch: list[Received]) -> None:
        self.stats.saw(len(batch))
        await super()._handle(session, batch)


class _EdgeSparkplug(SparkplugSource):
    stats: SourceStats

    async def _handle(self, session: MqttSession, batch: list[Received]) -> None:
        self.stats.saw(len(batch))
        await super()._handle(session, batch)


class _EdgeOpcUa(OpcUaSource):
    stats: SourceStats

    async def _handle(self, readings: list[Reading]) -> None:
        self.stats.saw(len(readings))
        await super()._handle(readings)


Adapter = _EdgeMqtt | _EdgeSparkplug | _EdgeOpcUa


def build_adapter(config: SourceConfig, intake: OutboxIntake, stats: SourceStats) -> Adapter:
    """The adapter for one configured source, with its quarantine reporting to `stats`."""
    quarantine = Quarantine(on_item=stats.quarantine)
    adapter: Adapter
    if isinstance(config, MqttSourceConfig):
        adapter = _EdgeMqtt(config.broker, config.mapping, intake, quarantine)
    elif isinstance(config, SparkplugSourceConfig):
        adapter = _EdgeSparkplug(config.broker, config.mapping, intake, quarantine=quarantine)
    else:
        adapter = _EdgeOpcUa(config.settings, config.mapping, intake, quarantine)
    adapter.stats = stats
    return adapter


def target(config: SourceConfig) -> str:
    """Where a source reads from, for status (never the password)."""
    if isinstance(config, OpcUaSourceConfig):
        return config.settings.endpoint
    b = config.broker
    return f"mqtt://{b.host}:{b.port} as {b.client_id}"


def preview(payload: bytes | None) -> str | None:
    """The start of a quarantined payload: text when it is UTF-8, else hex."""
    if payload is None:
        return None
    head = payload[:PREVIEW]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = "hex:" + head.hex()
    return text + ("…" if len(payload) > PREVIEW else "")


class Source:
    """One configured source and its supervisor task."""

    def __init__(self, config: SourceConfig, intake: OutboxIntake, clock: Clock) -> None:
        self.config, self.intake, self.clock = config, intake, clock
        self.stats = intake.stats
        self.adapter = build_adapter(config, intake, self.stats)
        self.task: asyncio.Task[None] | None = None

    async def supervise(self) -> None:
        """Run the adapter; when it fails, log it and start it again after a backoff."""
        attempt = 0
        while True:
            started = self.clock.now()
            try:
                await self.adapter.run()
                error: BaseException = RuntimeError("the source stopped on its own")
            except Exception as failure:  # any bug or surprise in a source: restart it, never the agent
                error = failure
            attempt = 1 if self.clock.now() - started > HEALTHY_AFTER else attempt + 1
            delay = backoff(attempt, base=1.0, cap=60.0, jitter=0.2)
            s = self.stats
            s.last_error, s.failed_at = f"{type(error).__name__}: {error}", self.clock.now()
            s.retry_at = s.failed_at + delay
            log.error("edge.source.failed", source=self.config.name, kind=self.config.kind,
                      error=s.last_error, restart_in_s=round(delay, 2), attempt=attempt)
            await asyncio.sleep(delay)
            s.restarts += 1
            s.retry_at = None
            log.info("edge.source.restarted", source=self.config.name, restarts=s.restarts)

    def state(self) -> str:
        """stopped | failed | connected | connecting."""
        if self.stats.stopped:
            return "stopped"
        if self.stats.retry_at is not None:
            return "failed"
        return "connected" if self.adapter.subscribed.is_set() else "connecting"

    def snapshot(self, now: float) -> dict[str, Any]:
        """This source's state, counts and recent quarantined input, as JSON-ready values."""
        c, s = self.config, self.stats
        out: dict[str, Any] = {
            "name": c.name, "kind": c.kind, "target": target(c), "state": self.state(),
            "connected": self.adapter.subscribed.is_set(), "messages": s.messages,
            "last_message_at": s.last_message_at, "last_kept_at": s.last_kept_at,
            "events": {k: s.receipts.get(k, 0) for k in ("accepted", "duplicate", "rejected", "conflict")},
            "priority": None if c.priority is None else PRIORITY_NAMES[c.priority],
            "restarts": s.restarts, "last_error": s.last_error, "failed_at": s.failed_at,
            "retry_at": s.retry_at,
            "quarantined": {"count": self.adapter.quarantine.count, "recent": [
                {"at": at, "where": q.where, "error": q.error, "issues": q.issues,
                 "payload": preview(q.payload)} for at, q in reversed(s.quarantined)]},
        }
        if isinstance(self.adapter, _EdgeSparkplug):
            out["rebirths_requested"] = len(self.adapter.rebirths)
        return out


class Sources:
    """Every configured source of an agent: `start()` in its loop, `await stop()` on shutdown."""

    def __init__(self, config: EdgeConfig, intake_for: Callable[[int | None], EdgeIntake],
                 on_full: Callable[[], None], clock: Clock) -> None:
        self.sources = [Source(c, OutboxIntake(intake_for(c.priority), SourceStats(clock), on_full), clock)
                        for c in config.sources]

    def start(self) -> None:
        """One task per source (call from inside the running loop)."""
        for source in self.sources:
            source.task = asyncio.create_task(source.supervise(), name=f"edge-source-{source.config.name}")
            log.info("edge.source.started", source=source.config.name, kind=source.config.kind,
                     target=target(source.config))

    async def stop(self) -> None:
        """Cancel every source, then let outbox writes in progress finish."""
        tasks = [s.task for s in self.sources if s.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        for source in self.sources:
            await source.intake.drain()
            source.stats.stopped = True
            source.task = None
        if self.sources:
            log.info("edge.sources.stopped", sources=[s.config.name for s in self.sources])

    def snapshot(self, now: float) -> list[dict[str, Any]]:
        """Every source's state, in config order."""
        return [source.snapshot(now) for source in self.sources]
