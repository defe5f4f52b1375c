"""The journal contract against the SQLite journal (a file in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from journal_suite import JournalContract

from plantwire.clocks import ManualClock
from plantwire.journal.sqlite import SqliteJournal


class TestSqliteJournal(JournalContract):
    def make_journal(self, tmp_path: Path, clock: ManualClock) -> SqliteJournal:
        return SqliteJournal(tmp_path / "journal.db", clock)
