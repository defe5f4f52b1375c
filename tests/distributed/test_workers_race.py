"""Two workers at once over the same PostgreSQL schema and stream: each event applied once, per-key
order kept (the order witness), partitions shared out, and taken over when one worker stops."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

from delivery_suite import POLICY, plant_events
from harness import BusHarness
from pg import PgDatabase

from plantwire.clocks import SystemClock
from plantwire.errors import StorageUnavailable
from plantwire.journal.postgres import PgTarget
from plantwire.journal.postgres_journal import PostgresJournal
from plantwire.journal.postgres_state import PostgresState
from plantwire.projections import tally
from plantwire.projections.inventory import Inventory
from plantwire.projections.tally import Tally


def run(h: BusHarness, stop: threading.Event, errors: list[BaseException]) -> None:
    while not stop.is_set():
        try:
            h.step()
        except StorageUnavailable:
            pass  # a lost race; the worker loop backs off and goes on
        except BaseException as exc:  # a real failure: report it to the test
            errors.append(exc)
            return


def test_two_workers_share_partitions_and_apply_each_event_once_in_order(
        pg_database: PgDatabase, bus_url: str, tmp_path: Path) -> None:
    target = PgTarget.from_url(pg_database.url_for(tmp_path))
    clock = SystemClock()
    events = plant_events(30)
    journals = [PostgresJournal(target, clock) for _ in range(2)]
    states = [PostgresState(target) for _ in range(2)]
    url = bus_url.replace("order_check=1", "order_check=1&partition_by=key")
    workers = [BusHarness(url, j, s, [Inventory(), Tally()], clock, POLICY, batch_size=20, heartbeat=True)
               for j, s in zip(journals, states, strict=True)]
    stops, errors = [threading.Event(), threading.Event()], []
    threads = [threading.Thread(target=run, args=(w, stop, errors))
               for w, stop in zip(workers, stops, strict=True)]
    try:
        for t in threads:
            t.start()
        for i in range(0, len(events), 25):  # a stream, while both run
            journals[0].append(events[i:i + 25])
        pause = threading.Event()
        _wait(lambda: _applied(states[0]) >= len(events) // 2, pause,
              why=lambda: f"{_applied(states[0])} of {len(events)} applied")
        assert len(workers[1].delivery.leases.owned()) > 0  # both had a share
        stops[1].set()
        threads[1].join(30)
        workers[1].close()  # one worker stops cleanly: the other takes its partitions at once
        _wait(lambda: sorted(workers[0].delivery.leases.owned()) == [0, 1, 2, 3], pause,
              why=lambda: f"worker 0 holds {workers[0].delivery.leases.owned()}")
        journals[1].append(plant_events(33)[len(events):])  # more, for the remaining worker alone
        total = len(plant_events(33))
        _wait(lambda: _applied(states[0]) >= total, pause,
              why=lambda: f"{_applied(states[0])} of {total} applied, journal head {journals[0].head()}")
    finally:
        for stop in stops:
            stop.set()
        for t in threads:
            t.join(30)
        for w in workers:
            w.close()
    assert not errors, errors
    with states[0].transaction() as tx:
        counts = {k: Decimal(str(v)) for k, v in tx.scan(tally.EVENTS)}
        stats = dict(tx.scan("stats"))
    assert len(counts) == len(plant_events(33)) and set(counts.values()) == {1}
    assert not [k for k, v in stats.items() if k.endswith("order_violations") and Decimal(str(v))]
    for j, s in zip(journals, states, strict=True):
        j.close()
        s.close()


def _applied(state: PostgresState) -> int:
    with state.transaction() as tx:
        return len(tx.scan(tally.EVENTS))


def _wait(cond: object, stop: threading.Event, timeout: float = 60.0, why: object = None) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        stop.wait(0.1)
    raise AssertionError(f"not reached in time {why() if why else ''}")  # type: ignore[operator]
