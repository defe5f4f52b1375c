"""Replay: rebuild a subscriber's effects from the journal.

For each selected entry the subscriber already took (at or below its position, and not held up
in delivery), its recorded effects are forgotten and the event handled again, in journal order,
in transactions of `batch` entries. Useful after fixing a mapping or a projection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from plantwire.envelope import JournalEntry
from plantwire.errors import NotFound
from plantwire.ports import Journal, StateStore, Subscriber
from plantwire.service import bookkeeping as books


@dataclass
class ReplayReport:
    """What a replay selected and did."""

    subscriber: str
    selected: int = 0
    replayed: int = 0
    skipped_held: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    first_seq: int | None = None
    last_seq: int | None = None
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {"subscriber": self.subscriber, "selected": self.selected, "replayed": self.replayed,
                "skipped_held": self.skipped_held, "by_type": dict(self.by_type),
                "first_seq": self.first_seq, "last_seq": self.last_seq, "dry_run": self.dry_run}


@dataclass
class Replayer:
    """Rebuilds subscribers' effects."""

    journal: Journal
    state: StateStore
    subscribers: dict[str, Subscriber]
    page: int = 1000

    def replay(self, subscriber: str, types: Collection[str] | None = None,
               since: float | None = None, dry_run: bool = False) -> ReplayReport:
        """Forget and re-handle the selected entries; with dry_run only count them."""
        sub = self.subscribers.get(subscriber)
        if sub is None:
            raise NotFound(f"no subscriber {subscriber!r}; known: {', '.join(sorted(self.subscribers))}")
        wanted = set(types or ()) or set(sub.types)
        report = ReplayReport(subscriber, dry_run=dry_run)
        with self.state.transaction() as tx:
            upto = books.cursor(tx, sub.name)
        after = 0
        while after < upto:
            entries, last = self.journal.read(after, min(self.page, upto - after), wanted or None)
            if last == after:
                break
            after = last
            picked = [e for e in entries if since is None or e.recorded_at >= since]
            self._apply(sub, picked, report)
        return report

    def _apply(self, sub: Subscriber, entries: list[JournalEntry], report: ReplayReport) -> None:
        with self.state.transaction() as tx:
            for entry in entries:
                if tx.get(books.pending(sub.name), books.seq_key(entry.seq)) is not None or \
                        tx.get(books.queue(sub.name),
                               f"{entry.key}{books.SEP}{books.seq_key(entry.seq)}") is not None:
                    report.skipped_held += 1
                    continue
                report.selected += 1
                report.by_type[entry.type] += 1
                report.first_seq = report.first_seq or entry.seq
                report.last_seq = entry.seq
                if not report.dry_run:
                    sub.forget(entry, tx)
                    sub.handle(entry, tx)
                    report.replayed += 1
