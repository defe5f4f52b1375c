"""The ingest checks: data-quality rules and system-of-record ownership, judged in one state read.

Wire with ``Ingest(..., checks=[mapping.check], hold=mapping.hold)`` where
``mapping = MappingChecks(state, clock)``. Rule documents are parsed once per version.
"""

from __future__ import annotations

import time
from typing import Any

from plantwire.envelope import Envelope, Pending
from plantwire.mapping import xref
from plantwire.mapping.book import DQ, OWNERS, read_doc
from plantwire.mapping.findings import Finding
from plantwire.mapping.ownership import OwnershipBook, judge, parse_book
from plantwire.mapping.review import ReviewQueue
from plantwire.mapping.rules import Rule, evaluate, parse_rules
from plantwire.ports import Clock, StateStore, StateTx

PO_NAMESPACE = "atp.pos"
"""The ATP read model's purchase orders: po_number -> {"lines": {"10": {...}, ...}, ...}."""


class TxLookups:
    """The referential lookups of the rules, answered from one state transaction."""

    def __init__(self, tx: StateTx) -> None:
        self.tx = tx

    def golden_known(self, kind: str, golden: str, system: str | None) -> bool:
        """Whether a golden id is mapped (from a given system, or any)."""
        return xref.golden_known(self.tx, kind, golden, system)

    def system_known(self, system: str, kind: str, system_id: str) -> bool:
        """Whether a system id has a cross-reference."""
        return xref.current(self.tx, system, kind, system_id) is not None

    def po_lines(self, po_number: str) -> set[str] | None:
        """The line numbers of a PO the ATP read model knows, or None."""
        po = self.tx.get(PO_NAMESPACE, po_number)
        return None if po is None else set(po.get("lines", {}))


def plant_of(envelope: Envelope) -> str | None:
    """The plant an event belongs to: its data's plant, else its ``plant`` extension."""
    plant = envelope.data.get("plant", envelope.extensions.get("plant"))
    return plant if isinstance(plant, str) else None


class MappingChecks:
    """Judges each valid event by the loaded rules and ownership book; holds what is quarantined."""

    def __init__(self, state: StateStore, clock: Clock, idle_recheck: float = 0.0) -> None:
        self.state = state
        self.review = ReviewQueue(state, clock)
        self.hold = self.review.hold
        self._rules: tuple[int, list[Rule]] = (0, [])
        self._book: tuple[int, OwnershipBook] = (0, OwnershipBook())
        self._idle_recheck = idle_recheck
        self._idle_until = 0.0

    def check(self, pending: Pending) -> list[Finding]:
        """Every finding for one event (empty when it is fine or nothing is loaded).

        With `idle_recheck`, a hub that has no rules and no ownership book looks again only that
        often (seconds), so ingest pays nothing per event until governance is switched on (not
        even for the envelope: the hot path builds none, and `pending.envelope` reads the body).
        """
        if self._idle_recheck and time.monotonic() < self._idle_until:
            return []
        with self.state.transaction() as tx:
            rules, book = self._current(tx)
            if not rules and not book.owners:
                self._idle_until = time.monotonic() + self._idle_recheck
                return []
            envelope = pending.envelope
            found = evaluate(rules, envelope.type, envelope.data, plant_of(envelope), TxLookups(tx))
        found += judge(book, envelope.type, envelope.data, envelope.source, envelope.extensions)
        return found

    __call__ = check

    def _current(self, tx: StateTx) -> tuple[list[Rule], OwnershipBook]:
        dq, owners = read_doc(tx, DQ), read_doc(tx, OWNERS)
        if _version(dq) != self._rules[0]:
            self._rules = (_version(dq), parse_rules(dq["doc"]["rules"]) if dq else [])
        if _version(owners) != self._book[0]:
            self._book = (_version(owners), parse_book(owners["doc"]) if owners else OwnershipBook())
        return self._rules[1], self._book[1]


def _version(record: dict[str, Any] | None) -> int:
    return int(record["version"]) if record else 0
