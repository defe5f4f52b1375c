"""The state store contract against the SQLite store (a file in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from state_suite import StateContract

from plantwire.journal.sqlite import SqliteState


class TestSqliteState(StateContract):
    def make_state(self, tmp_path: Path) -> SqliteState:
        return SqliteState(tmp_path / "state.db")
