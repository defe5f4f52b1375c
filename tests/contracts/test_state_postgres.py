"""The state store contract against PostgreSQL, plus the isolation the Dispatcher relies on."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pg import PgDatabase, pg_database  # noqa: F401  (the fixture is used by name)
from state_suite import StateContract

from plantwire.errors import StorageUnavailable
from plantwire.journal.postgres import PgTarget
from plantwire.journal.postgres_state import PostgresState
from plantwire.service import bookkeeping as books


class TestPostgresState(StateContract):
    @pytest.fixture(autouse=True)
    def _database(self, pg_database: PgDatabase) -> None:  # noqa: F811
        self.db = pg_database

    def make_state(self, tmp_path: Path) -> PostgresState:
        return PostgresState(PgTarget.from_url(self.db.url_for(tmp_path)))

    @pytest.mark.parametrize("existing", [True, False], ids=["moved", "first-move"])
    def test_two_processes_cannot_both_move_a_cursor_from_the_same_position(
        self, tmp_path: Path, existing: bool
    ) -> None:
        """Both read the cursor, both write a new one: exactly one commits, with its effects."""
        one, two = self.make_state(tmp_path), self.make_state(tmp_path)
        try:
            if existing:
                with one.transaction() as tx:
                    tx.put(books.CURSOR, "sub", 5)
            start = 5 if existing else 0
            with pytest.raises(StorageUnavailable), two.transaction() as second:
                assert books.cursor(second, "sub") == start  # its snapshot is taken here
                with one.transaction() as first:
                    assert books.cursor(first, "sub") == start
                    first.put(books.CURSOR, "sub", 9)
                    first.add("effects", "e", 1)
                second.put(books.CURSOR, "sub", 7)  # from the same start, after `first` committed
                second.add("effects", "e", 1)
            with one.transaction() as tx:
                assert tx.get(books.CURSOR, "sub") == 9
                assert tx.add("effects", "e", 0) == Decimal(1)
        finally:
            one.close()
            two.close()
