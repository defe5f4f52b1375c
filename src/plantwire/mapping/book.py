"""Where rule documents live: the data-quality rules and the ownership book, each versioned.

State: ``mapping.docs`` with key ``dq`` or ``owners`` -> {version, doc, at, by, origin}, and every
earlier version under ``dq|000001`` etc., so what was in force when an event was judged stays readable.
"""

from __future__ import annotations

from typing import Any

from plantwire.errors import NotFound
from plantwire.mapping.ownership import OwnershipBook, book_dict, parse_book
from plantwire.mapping.rules import Rule, parse_rules, rule_dict
from plantwire.ports import Clock, StateStore, StateTx

DOCS = "mapping.docs"
DQ, OWNERS = "dq", "owners"


def read_doc(tx: StateTx, name: str) -> dict[str, Any] | None:
    """The current stored document of that name, or None."""
    found: dict[str, Any] | None = tx.get(DOCS, name)
    return found


class RuleBook:
    """Load and read the data-quality rules and the ownership book."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        self.state, self.clock = state, clock

    def _store(self, name: str, doc: dict[str, Any], by: str, origin: str) -> int:
        with self.state.transaction() as tx:
            old = tx.get(DOCS, name)
            version = (old["version"] if old else 0) + 1
            record = {"version": version, "doc": doc, "at": self.clock.now(), "by": by, "origin": origin}
            tx.put(DOCS, name, record)
            tx.put(DOCS, f"{name}|{version:06d}", record)
        return version

    def load_rules(self, rules: list[Rule], by: str, origin: str = "") -> int:
        """Replace the data-quality rules; returns the new version."""
        return self._store(DQ, {"rules": [rule_dict(r) for r in rules]}, by, origin)

    def load_owners(self, book: OwnershipBook, by: str, origin: str = "") -> int:
        """Replace the ownership book; returns the new version."""
        return self._store(OWNERS, book_dict(book), by, origin)

    def record(self, name: str, version: int | None = None) -> dict[str, Any]:
        """A stored document with its version and who loaded it; NotFound when there is none."""
        with self.state.transaction() as tx:
            found = tx.get(DOCS, name if version is None else f"{name}|{version:06d}")
        if found is None:
            raise NotFound(f"no {name} document" + (f" version {version}" if version else " loaded"))
        return dict(found)

    def rules(self) -> list[Rule]:
        """The data-quality rules in force (none before any load)."""
        with self.state.transaction() as tx:
            found = read_doc(tx, DQ)
        return parse_rules(found["doc"]["rules"]) if found else []

    def owners(self) -> OwnershipBook:
        """The ownership book in force (empty before any load)."""
        with self.state.transaction() as tx:
            found = read_doc(tx, OWNERS)
        return parse_book(found["doc"]) if found else OwnershipBook()
