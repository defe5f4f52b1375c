"""The edge agent: composition of outbox, intake, forwarder and the status ticker; run under uvicorn."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

import orjson
import structlog

from plantwire.clocks import SystemClock
from plantwire.domain.catalog import CATALOG
from plantwire.edge.alarms import Backlog, active_alarms, alarm_event, describe
from plantwire.edge.config import EdgeConfig
from plantwire.edge.forwarder import Forwarder
from plantwire.edge.intake import EdgeIntake
from plantwire.edge.metrics import KINDS, EdgeMetrics
from plantwire.edge.outbox import Outbox
from plantwire.edge.settings import HIGH, PRIORITY_NAMES, EdgeSettings, PriorityRule
from plantwire.edge.sources import Sources
from plantwire.edge.status import backlog_by_priority, total_backlog
from plantwire.errors import StorageUnavailable
from plantwire.ports import Clock

log = structlog.get_logger("plantwire.edge")
PRUNE_EVERY = 60.0
T = TypeVar("T")


class Agent:
    """One edge agent on one data directory; `run()` forwards and ticks until cancelled."""

    def __init__(self, settings: EdgeSettings, clock: Clock | None = None,
                 config: EdgeConfig | None = None) -> None:
        self.settings, self.clock = settings, clock or SystemClock()
        self.outbox = Outbox(settings.outbox_path, settings.max_outbox_bytes, settings.min_free_bytes)
        self.metrics = EdgeMetrics()
        self.forwarder = Forwarder(self.outbox, settings, self.clock, self.metrics)
        self.intake = EdgeIntake(self.outbox, CATALOG, self.clock, settings.rules, self._stored)
        self.alarms: dict[str, dict[str, Any]] = {}
        self.full_since: float | None = None
        self.peak = 0
        self.started_at = self.clock.now()
        self._reader = self.outbox.reader()
        self._read_lock = threading.Lock()
        self._last_prune = 0.0
        self.sources = Sources(config or EdgeConfig(), self._intake_for, self.refused, self.clock)
        self.source_states: list[dict[str, Any]] = []

    def read(self, query: Callable[[Any], T]) -> T:
        """Run a read-only query function on the agent's reader connection."""
        with self._read_lock:
            return query(self._reader)

    def _stored(self, count: int) -> None:
        self.metrics.accepted.inc(count)
        self.full_since = None
        self.forwarder.notify()

    def _intake_for(self, priority: int | None) -> EdgeIntake:
        """The outbox intake of one source: its own priority for every event, or the agent's rules."""
        rules = self.settings.rules if priority is None else (PriorityRule("*", priority),)
        return EdgeIntake(self.outbox, CATALOG, self.clock, rules, self._stored)

    def refused(self) -> None:
        """Intake was refused for lack of space: the outbox-full alarm goes on at the next tick."""
        self.metrics.refused.inc()
        if self.full_since is None:
            self.full_since = self.clock.now()

    async def run(self) -> None:
        """Forward, run the configured sources, and tick until cancelled."""
        forwarding = asyncio.create_task(self.forwarder.run())
        self.sources.start()
        try:
            while True:
                self.source_states = self.sources.snapshot(self.clock.now())  # in the loop that updates them
                await asyncio.to_thread(self.tick)
                await asyncio.sleep(self.settings.tick)
        finally:
            await self.sources.stop()
            forwarding.cancel()
            with suppress(asyncio.CancelledError):
                await forwarding

    def tick(self) -> None:
        """Observe the backlog, raise or clear alarms, update metrics, persist state for the CLI."""
        now = self.clock.now()
        by_priority = self.read(lambda c: backlog_by_priority(c, now))
        backlog = total_backlog(by_priority)
        self.peak = max(self.peak, backlog.count)
        for name in PRIORITY_NAMES.values():
            self.metrics.backlog.labels(name).set(by_priority.get(name, {}).get("count", 0))
            self.metrics.oldest.labels(name).set(by_priority.get(name, {}).get("oldest_age_s", 0))
        full = self.full_since is not None
        s = self.settings
        on = active_alarms(backlog, s.alarm_backlog, s.alarm_age, full, frozenset(self.alarms))
        for kind in on - set(self.alarms):
            detail = describe(kind, backlog, s.alarm_backlog, s.alarm_age)
            self.alarms[kind] = {"since": now, "detail": detail}
            log.warning("edge.backlog.alarm", alarm=kind, state="raised", backlog=backlog.count,
                        oldest_age_s=backlog.oldest_age, detail=self.alarms[kind]["detail"])
            self._tell_hub("raised", kind, detail, backlog, now)
        for kind in set(self.alarms) - on:
            log.info("edge.backlog.alarm", alarm=kind, state="cleared", backlog=backlog.count)
            del self.alarms[kind]
            self._tell_hub("cleared", kind, "below 80% of the limit again", backlog, now)
        for kind in on:
            self.alarms[kind]["detail"] = describe(kind, backlog, s.alarm_backlog, s.alarm_age)
        for kind in KINDS:
            self.metrics.alarm.labels(kind).set(1 if kind in on else 0)
        self._persist(now)
        if now - self._last_prune > PRUNE_EVERY:
            self._last_prune = now
            self.outbox.prune(now - s.retention)

    def _tell_hub(self, state: str, kind: str, detail: str, backlog: Backlog, now: float) -> None:
        """Queue an alarm event for the hub, ahead of the routine backlog; when the outbox itself is
        full it cannot be kept, and the log line and metric have to do."""
        event = alarm_event(self.settings.agent_id, state, kind, detail, backlog, now)
        # its own intake: keeping this event must not count as intake recovering from a full outbox
        intake = EdgeIntake(self.outbox, CATALOG, self.clock, (PriorityRule("*", HIGH),),
                            lambda n: self.forwarder.notify())
        try:
            intake.accept_sync([event])
        except StorageUnavailable as exc:
            log.warning("edge.alarm.not_queued", alarm=kind, state=state, error=str(exc))

    def _persist(self, now: float) -> None:
        agent = {"pid": os.getpid(), "hub": self.settings.hub_url, "port": self.settings.port,
                 "started_at": self.started_at, "heartbeat_at": now}
        try:
            self.outbox.put_meta({"agent": orjson.dumps(agent),
                                  "link": orjson.dumps(self.forwarder.link.as_dict()),
                                  "alarms": orjson.dumps(self.alarms),
                                  "sources": orjson.dumps(self.source_states),
                                  "peak_backlog": orjson.dumps(self.peak)})
        except StorageUnavailable as exc:  # a full disk must not stop forwarding, which frees space
            log.error("edge.status.not_saved", error=str(exc))

    def close(self) -> None:
        """Release the database connections."""
        self._reader.close()
        self.outbox.close()


def run_agent(settings: EdgeSettings, config: EdgeConfig | None = None) -> None:
    """Serve the edge API, run the configured sources and forward, until SIGTERM/SIGINT."""
    import uvicorn

    from plantwire.edge.api import create_edge_app

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per forwarded batch is noise
    logging.getLogger("asyncua").setLevel(logging.WARNING)  # logs every OPC UA publish at INFO
    agent = Agent(settings, config=config)
    log.info("edge.started", hub=settings.hub_url, data_dir=str(settings.data_dir), port=settings.port,
             at=time.time(), sources=[s.name for s in config.sources] if config else [])
    uvicorn.run(create_edge_app(agent), host=settings.host, port=settings.port, loop="uvloop",
                http="httptools", access_log=False, log_level="warning", timeout_graceful_shutdown=5)
