"""The composition root: builds a hub from settings. Nothing else constructs concrete objects."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plantwire.clocks import ManualClock, SystemClock
from plantwire.domain.catalog import CATALOG, Catalog
from plantwire.errors import ConfigurationError
from plantwire.flows.api import Flow
from plantwire.flows.catalog import FlowSettings, production_flows
from plantwire.flows.catalog.procurement import procurement_flows
from plantwire.flows.catalog.procurement_settings import ProcurementSettings
from plantwire.flows.exceptions import BusinessExceptions
from plantwire.flows.pumps import CommandRelay, TimerPump
from plantwire.flows.runtime import FlowEngine, FlowSubscriber
from plantwire.journal.memory import MemoryJournal, MemoryState
from plantwire.journal.sqlite import SqliteJournal, SqliteState
from plantwire.mapping.checks import MappingChecks
from plantwire.ports import Clock, Journal, Sink, StateStore, Subscriber
from plantwire.projections.atp import Atp
from plantwire.projections.inventory import Inventory
from plantwire.projections.tally import Tally
from plantwire.service.deadletters import DeadLetters
from plantwire.service.delivery import Dispatcher
from plantwire.service.ingest import Ingest
from plantwire.service.intake import HubIntake
from plantwire.service.keys import ApiKeys
from plantwire.service.queries import Queries
from plantwire.service.replay import Replayer
from plantwire.service.retry import RetryPolicy
from plantwire.service.worker import DeliveryWorker
from plantwire.systems import FeedSource, build_sinks, build_sources

JOURNAL_FILE = "journal.db"
STATE_FILE = "state.db"


@dataclass(frozen=True)
class Settings:
    """Everything a hub is built from."""

    data_dir: Path = Path("plantwire-data")
    backend: str = "sqlite"
    """Where journal and state live: "sqlite" (files in data_dir) or a "postgresql://..." URL."""
    bus: str = "local"
    """How events reach delivery: "local" (in-process) or a "nats://host:4222[?prefix=pw&partitions=8]"
    URL (JetStream; any number of `plantwire worker` processes share the partitions)."""
    max_batch: int = 1000
    max_body_bytes: int = 16 * 1024 * 1024
    max_operator_body_bytes: int = 4 * 1024 * 1024
    """Largest body of any other route (dead-letter, exception, mapping and xref-import requests)."""
    poll_interval: float = 0.25
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    systems: Mapping[str, str] = field(default_factory=dict)
    """Base URL per system role (erp, mes, wms, supplier); with any, the value-stream flows run."""
    flows: FlowSettings = field(default_factory=FlowSettings)
    procurement: ProcurementSettings = field(default_factory=ProcurementSettings)


def default_subscribers(settings: Settings | None = None) -> list[Subscriber]:
    """The read models every hub keeps: stock on hand, available-to-promise, and the tally."""
    flows = (settings or Settings()).flows
    return [Inventory(), Atp(flows.base_units, flows.conversions), Tally()]


def value_stream_flows(settings: Settings) -> list[Flow]:
    """The business flows: production (release, consumption, completion) and procurement."""
    return [*production_flows(settings.flows), *procurement_flows(settings.procurement)]


@dataclass
class Hub:
    """A wired hub: what the entry points use."""

    settings: Settings
    clock: Clock
    catalog: Catalog
    journal: Journal
    state: StateStore
    subscribers: list[Subscriber]
    dispatcher: Dispatcher
    worker: DeliveryWorker
    ingest: Ingest
    dead_letters: DeadLetters
    keys: ApiKeys
    queries: Queries
    replayer: Replayer
    engine: FlowEngine
    relay: CommandRelay
    timers: TimerPump
    exceptions: BusinessExceptions
    sources: list[FeedSource] = field(default_factory=list)
    close_bus: Callable[[], None] | None = None

    def drain(self, max_rounds: int = 100_000, commands: bool = True) -> None:
        """Run the worker's loops (delivery, on a bus with its leases and relay; commands; timers)
        until nothing is due now (tests; no sleeping). Without `commands`, delivery only: the
        command relay and timers wait (a test that stops a saga before its commands go out)."""
        loops = [s for s in self.worker.steppers if commands or s not in (self.relay, self.timers)]
        for _ in range(max_rounds):
            if not sum(s.step() for s in loops):
                return

    def close(self) -> None:
        """Stop delivery and release storage (again after a close: releases nothing twice)."""
        self.worker.stop()
        close_bus, self.close_bus = self.close_bus, None
        if close_bus is not None:
            close_bus()
        self.ingest.close()
        self.journal.close()
        self.state.close()


def _wire(settings: Settings, clock: Clock, journal: Journal, state: StateStore,
          subscribers: Sequence[Subscriber], flows: Sequence[Flow], sinks: Mapping[str, Sink]) -> Hub:
    engine = FlowEngine(flows)
    subs = [*subscribers, *(FlowSubscriber(engine, name) for name in engine.latest)]
    dispatcher = Dispatcher(journal, state, subs, clock, default_policy=settings.retry)
    relay = CommandRelay(state, engine, sinks, clock, settings.retry)
    timers = TimerPump(state, engine, clock)
    worker = DeliveryWorker([dispatcher, relay, timers], settings.poll_interval)
    checks = MappingChecks(state, clock, idle_recheck=1.0)  # data-quality rules and ownership, once loaded
    return Hub(
        settings=settings, clock=clock, catalog=CATALOG, journal=journal, state=state,
        subscribers=subs, dispatcher=dispatcher, worker=worker,
        ingest=Ingest(journal, CATALOG, worker.notify, checks=[checks.check], hold=checks.hold),
        dead_letters=DeadLetters(journal, state, clock),
        keys=ApiKeys(state, clock),
        queries=Queries(journal, state, subs),
        replayer=Replayer(journal, state, {s.name: s for s in subs}),
        engine=engine, relay=relay, timers=timers, exceptions=BusinessExceptions(state, clock),
    )


def open_storage(settings: Settings, clock: Clock) -> tuple[Journal, StateStore]:
    """The journal and state store the `backend` setting names (PostgreSQL is imported lazily)."""
    if settings.backend == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        journal: Journal = SqliteJournal(settings.data_dir / JOURNAL_FILE, clock)
        return journal, SqliteState(settings.data_dir / STATE_FILE)
    from plantwire.journal.postgres import PgTarget, is_postgres_url

    if not is_postgres_url(settings.backend):
        raise ConfigurationError(f"backend {settings.backend!r}: use 'sqlite' or a postgresql:// URL")
    from plantwire.journal.postgres_journal import PostgresJournal
    from plantwire.journal.postgres_state import PostgresState

    target = PgTarget.from_url(settings.backend)
    journal = PostgresJournal(target, clock)
    try:
        return journal, PostgresState(target)
    except BaseException:
        journal.close()
        raise


def bootstrap(settings: Settings, subscribers: Sequence[Subscriber] | None = None,
              flows: Sequence[Flow] | None = None, sinks: Mapping[str, Sink] | None = None,
              clock: Clock | None = None) -> Hub:
    """A hub on the storage `settings.backend` names (by default SQLite files in the data directory);
    with `settings.systems`, the value-stream flows, a sink per system and a feed source per system."""
    clock = clock or SystemClock()
    journal, state = open_storage(settings, clock)
    if flows is None:
        flows = value_stream_flows(settings) if settings.systems else ()
    if sinks is None:
        sinks = build_sinks(settings.systems, state)
    hub = _wire(settings, clock, journal, state,
                default_subscribers(settings) if subscribers is None else subscribers, flows, sinks)
    hub.sources = build_sources(settings.systems, HubIntake(hub.ingest), state)
    if settings.bus != "local":
        _attach_bus(hub)
    return hub


def _attach_bus(hub: Hub, **tuning: Any) -> None:
    """Deliver through the NATS JetStream bus instead of in-process (imported only when asked for);
    `tuning` goes to `distributed_delivery` (fetch wait, worker identity, lease heartbeat)."""
    from plantwire.bus import distributed_delivery, is_nats_url

    if not is_nats_url(hub.settings.bus):
        raise ConfigurationError(f"bus {hub.settings.bus!r}: use 'local' or a nats:// URL")
    delivery = distributed_delivery(hub.settings.bus, hub.journal, hub.state, hub.subscribers,
                                    hub.clock, hub.settings.retry, **tuning)
    hub.dispatcher = delivery.dispatcher
    hub.worker.steppers = [*delivery.steppers, hub.relay, hub.timers]
    hub.close_bus = delivery.close


TEST_WORKER = "test-worker"
"""The worker identity of test hubs on a bus: one for all, so a hub opened again on the same storage
(a restart, after a close or a simulated crash) takes its partitions straight back."""
TEST_FETCH_WAIT = 0.005
"""Seconds a test hub's JetStream fetch waits for messages: tests drain, so nothing is worth waiting
for, and each round of `drain` costs about this much."""


def bootstrap_for_tests(subscribers: Sequence[Subscriber] | None = None,
                        clock: Clock | None = None, settings: Settings | None = None,
                        flows: Sequence[Flow] = (), sinks: Mapping[str, Sink] | None = None,
                        durable: bool = False) -> Hub:
    """A hub with a manual clock whose delivery runs only when the test drains it: in memory, or
    with `durable` on the storage `settings.backend` names (SQLite in `data_dir`, or PostgreSQL), so
    another hub on the same settings is a restart. With `settings.bus` a nats:// URL, delivery goes
    through JetStream (relay, partition leases renewed by `drain` on the manual clock, consumers)."""
    clock = clock or ManualClock()
    settings = settings or Settings()
    journal, state = open_storage(settings, clock) if durable else (MemoryJournal(clock), MemoryState())
    hub = _wire(settings, clock, journal, state,
                default_subscribers(settings) if subscribers is None else subscribers, flows, sinks or {})
    if settings.bus != "local":
        _attach_bus(hub, wait=TEST_FETCH_WAIT, member=TEST_WORKER, heartbeat=False)
    return hub
