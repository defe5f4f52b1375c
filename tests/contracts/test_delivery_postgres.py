"""The delivery contract over the PostgreSQL journal and state store, and two live dispatchers."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest
from delivery_suite import DeliveryContract, plant_events
from pg import PgDatabase, pg_database  # noqa: F401  (the fixture is used by name)

from plantwire.clocks import ManualClock
from plantwire.errors import StorageUnavailable
from plantwire.journal.postgres import PgTarget
from plantwire.journal.postgres_journal import PostgresJournal
from plantwire.journal.postgres_state import PostgresState
from plantwire.projections import tally
from plantwire.projections.inventory import Inventory
from plantwire.projections.tally import Tally


class TestPostgresDelivery(DeliveryContract):
    @pytest.fixture(autouse=True)
    def _database(self, pg_database: PgDatabase) -> None:  # noqa: F811
        self.db = pg_database

    def make_journal(self, tmp_path: Path, clock: ManualClock) -> PostgresJournal:
        return PostgresJournal(PgTarget.from_url(self.db.url_for(tmp_path)), clock)

    def make_state(self, tmp_path: Path) -> PostgresState:
        return PostgresState(PgTarget.from_url(self.db.url_for(tmp_path)))

    def test_two_dispatchers_running_at_once_apply_each_event_once(
        self, tmp_path: Path, clock: ManualClock
    ) -> None:
        """Two "processes" deliver the same subscribers from the same stores at the same time;
        the loser of each race gets StorageUnavailable (as the worker loop would) and goes on."""
        events = plant_events(6)
        stores = [(self.make_journal(tmp_path, clock), self.make_state(tmp_path)) for _ in range(2)]
        stores[0][0].append(events)
        conflicts: list[int] = []

        def run(journal: PostgresJournal, state: PostgresState) -> None:
            d = self.dispatcher(journal, state, clock, Inventory(), Tally(), batch_size=8)
            for _ in range(10_000):
                try:
                    if not d.step():
                        return
                except StorageUnavailable:
                    conflicts.append(1)

        threads = [threading.Thread(target=run, args=pair) for pair in stores]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            with stores[0][1].transaction() as tx:
                counts = {k: Decimal(str(v)) for k, v in tx.scan(tally.EVENTS)}
            assert len(counts) == len(events) and set(counts.values()) == {1}
        finally:
            for journal, state in stores:
                journal.close()
                state.close()
