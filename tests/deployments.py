"""The two deployments a hub test runs on: one `deployment` fixture, parametrised (issue #6).

- ``embedded``: journal and state in memory, delivery in-process (what the tests always used);
  a durable hub keeps SQLite files in the test's tmp_path, as ``plantwire demo`` does.
- ``distributed``: journal and state in PostgreSQL, delivery through NATS JetStream (journal
  relay, partition leases, durable consumers), as ``plantwire worker`` runs. Each fresh hub gets a
  PostgreSQL schema and a stream prefix of its own; the stream is deleted after the test, the
  schema emptied before it serves another test (migrating a new one for each test costs more).

Both build the hub with ``bootstrap_for_tests`` (bootstrap stays the one composition root), so a
test writes ``deployment.hub(...)`` with that function's arguments, feeds ``hub.ingest`` and calls
``hub.drain()``: on the distributed side that relays to JetStream, fetches, delivers and runs the
command relay and timers until nothing is due, on the test's manual clock.

PostgreSQL and NATS are reached (or started) once per session, only when a distributed test runs:
off CI their absence skips the distributed variants; with ``CI=true`` it fails them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from plantwire.bootstrap import Hub, Settings, bootstrap_for_tests
from plantwire.flows.api import Flow
from plantwire.ports import Clock, Sink, Subscriber

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "contracts"))

from nats_service import NATS_URL, drop_stream, ensure_nats, unique_bus_url  # noqa: E402
from pg import PgDatabase, ensure_server  # noqa: E402

DEPLOYMENTS = ("embedded", "distributed")
PARTITIONS = 2
"""Partitions of a test bus: more than one, so leases and per-partition positions are exercised;
few, since every partition is a consumer per subscriber that each round of `drain` fetches from."""
@dataclass
class Services:
    """PostgreSQL and NATS for this session (xdist worker): migrated schemas, each lent to one hub
    at a time and emptied before it is lent again, all dropped at the end; a stream per hub."""

    made: list[PgDatabase] = field(default_factory=list)
    free: list[PgDatabase] = field(default_factory=list)

    def storage(self, cleanup: ExitStack) -> Settings:
        """A schema and a stream prefix of their own, given back by `cleanup`."""
        if self.free:
            db = self.free.pop()
            db.truncate()
        else:
            db = self._migrated()
        cleanup.callback(self.free.append, db)
        bus = unique_bus_url(NATS_URL, partitions=PARTITIONS, order_check=False)
        cleanup.callback(drop_stream, bus)
        return Settings(backend=db.url, bus=bus)

    def _migrated(self) -> PgDatabase:
        db = PgDatabase()
        db.create()
        self.made.append(db)
        return db

    def drop(self) -> None:
        for db in self.made:
            db.drop()


class Deployment:
    """Builds a test's hubs on one deployment; `close` closes them and gives back their storage."""

    def __init__(self, name: str, tmp_path: Path, services: Services | None = None) -> None:
        self.name, self._tmp, self._services = name, tmp_path, services
        self._cleanup = ExitStack()
        self._durable: Settings | None = None

    def __repr__(self) -> str:
        return f"Deployment({self.name!r})"

    @property
    def distributed(self) -> bool:
        """PostgreSQL and JetStream rather than memory and in-process delivery."""
        return self._services is not None

    def hub(self, subscribers: Sequence[Subscriber] | None = None, clock: Clock | None = None,
            settings: Settings | None = None, flows: Sequence[Flow] = (),
            sinks: Mapping[str, Sink] | None = None, durable: bool = False) -> Hub:
        """A hub on this deployment (`bootstrap_for_tests`'s arguments). A fresh one starts empty;
        a `durable` one is on the test's storage that outlives it, so building another durable one
        (after `close()`, or after closing only journal and state: a crash) is a restart."""
        where = self._durable_storage() if durable else self._fresh_storage()
        settings = replace(settings or Settings(), data_dir=where.data_dir, backend=where.backend,
                           bus=where.bus)
        built = bootstrap_for_tests(subscribers, clock, settings, flows, sinks,
                                    durable=durable or self.distributed)
        self._cleanup.callback(built.close)
        return built

    def _durable_storage(self) -> Settings:
        if self._durable is None:
            self._durable = self._fresh_storage() if self._services else Settings(data_dir=self._tmp / "hub")
        return self._durable

    def _fresh_storage(self) -> Settings:
        if self._services is None:
            return Settings()  # in memory
        return self._services.storage(self._cleanup)

    def close(self) -> None:
        """Close every hub (again, for those the test closed or crashed), then give back the
        schemas and delete the streams they used."""
        self._cleanup.close()


@pytest.fixture(scope="session")
def distributed_services() -> Iterator[Services]:
    """PostgreSQL and NATS answer (started if need be), or the test skips (fails with CI=true)."""
    ensure_server()
    ensure_nats()
    services = Services()
    try:
        yield services
    finally:
        services.drop()


@pytest.fixture(params=DEPLOYMENTS)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """Where this test's hubs run: ``embedded`` or ``distributed`` (every test runs on both)."""
    services: Services | None = None
    if request.param == "distributed":
        services = request.getfixturevalue("distributed_services")
    made = Deployment(request.param, tmp_path, services)
    try:
        yield made
    finally:
        made.close()
