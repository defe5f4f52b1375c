"""The state store contract against PostgreSQL's optimistic transactions (what delivery uses), and
what makes them safe: a read that no longer holds fails the transaction before it writes anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg import PgDatabase, pg_database  # noqa: F401  (the fixture is used by name)
from state_suite import StateContract

from plantwire.errors import StorageUnavailable
from plantwire.journal.postgres import PgTarget
from plantwire.journal.postgres_state import OptimisticState, PostgresState

Pair = tuple[OptimisticState, PostgresState]


class TestOptimisticPostgresState(StateContract):
    @pytest.fixture(autouse=True)
    def _database(self, pg_database: PgDatabase) -> None:  # noqa: F811
        self.db = pg_database

    def make_state(self, tmp_path: Path) -> OptimisticState:
        return self.plain(tmp_path).optimistic()

    def plain(self, tmp_path: Path) -> PostgresState:
        return PostgresState(PgTarget.from_url(self.db.url_for(tmp_path)))

    @pytest.fixture
    def pair(self, tmp_path: Path) -> Iterator[Pair]:
        """This process's optimistic store, and another process's plain one on the same tables."""
        mine, other = self.make_state(tmp_path), self.plain(tmp_path)
        yield mine, other
        mine.close()
        other.close()

    def test_a_read_overtaken_before_commit_fails_and_writes_nothing(self, pair: Pair) -> None:
        mine, other = pair
        with other.transaction() as tx:
            tx.put("ns", "stock", 5)
        with pytest.raises(StorageUnavailable), mine.transaction() as tx:
            left = tx.get("ns", "stock")
            with other.transaction() as meanwhile:
                meanwhile.put("ns", "stock", 1)
            tx.put("ns", "stock", left - 4)
            tx.put("ns", "taken", 4)
        with other.transaction() as tx:
            assert tx.get("ns", "stock") == 1 and tx.get("ns", "taken") is None
        with mine.transaction() as tx:  # done again: it reads what is there now
            assert tx.get("ns", "stock") == 1

    def test_a_value_remembered_from_an_earlier_transaction_is_checked(self, pair: Pair) -> None:
        mine, other = pair
        with mine.transaction() as tx:
            tx.put("ns", "cursor", tx.add("ns", "n", 1))  # read (so remembered), then written
        with other.transaction() as tx:
            tx.put("ns", "n", 10)  # another process: this one's memory of "n" is out of date
        with pytest.raises(StorageUnavailable), mine.transaction() as tx:
            tx.add("ns", "n", 1)
        with mine.transaction() as tx:
            assert tx.add("ns", "n", 1) == 11

    def test_a_scan_overtaken_before_commit_fails(self, pair: Pair) -> None:
        mine, other = pair
        with pytest.raises(StorageUnavailable), mine.transaction() as tx:
            held = tx.scan("heads", limit=1)
            with other.transaction() as meanwhile:
                meanwhile.put("heads", "k", 1)
            tx.put("queue", "k", "parked" if held else "applied")
        with other.transaction() as tx:
            assert tx.get("queue", "k") is None
