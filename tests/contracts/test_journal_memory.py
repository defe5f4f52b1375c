"""The journal contract against the in-memory journal."""

from __future__ import annotations

from pathlib import Path

from journal_suite import JournalContract

from plantwire.clocks import ManualClock
from plantwire.journal.memory import MemoryJournal


class TestMemoryJournal(JournalContract):
    def make_journal(self, tmp_path: Path, clock: ManualClock) -> MemoryJournal:
        return MemoryJournal(clock)

    # the memory journal is not durable by design: nothing to reopen
    test_reopen_from_the_same_place_keeps_everything = None  # type: ignore[assignment]
