"""The state store contract against the in-memory store."""

from __future__ import annotations

from pathlib import Path

from state_suite import StateContract

from plantwire.journal.memory import MemoryState


class TestMemoryState(StateContract):
    def make_state(self, tmp_path: Path) -> MemoryState:
        return MemoryState()

    # the memory store is not durable by design: nothing to reopen
    test_reopen_keeps_committed_state = None  # type: ignore[assignment]
