"""The delivery contract over the SQLite journal and state store (files in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from delivery_suite import DeliveryContract

from plantwire.clocks import ManualClock
from plantwire.journal.sqlite import SqliteJournal, SqliteState


class TestSqliteDelivery(DeliveryContract):
    def make_journal(self, tmp_path: Path, clock: ManualClock) -> SqliteJournal:
        return SqliteJournal(tmp_path / "journal.db", clock)

    def make_state(self, tmp_path: Path) -> SqliteState:
        return SqliteState(tmp_path / "state.db")
