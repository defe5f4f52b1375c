"""The delivery contract over the in-memory journal and state store."""

from __future__ import annotations

from pathlib import Path

from delivery_suite import DeliveryContract

from plantwire.clocks import ManualClock
from plantwire.journal.memory import MemoryJournal, MemoryState


class TestMemoryDelivery(DeliveryContract):
    durable = False  # a "restart" keeps the same objects: nothing survives a real one

    def make_journal(self, tmp_path: Path, clock: ManualClock) -> MemoryJournal:
        return MemoryJournal(clock)

    def make_state(self, tmp_path: Path) -> MemoryState:
        return MemoryState()
