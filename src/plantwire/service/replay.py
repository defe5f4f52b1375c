"""Replay: rebuild a subscriber's effects from the journal.

For each selected entry the subscriber already took (at or below its position, and not held up
in delivery), its recorded effects are forgotten and the event handled again, in journal order,
in transactions of `batch` entries. Useful after fixing a mapping or a projection.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from plantwire.envelope import JournalEntry
from plantwire.errors import NotFound, PermanentError
from plantwire.ports import Journal, StateStore, StateTx, Subscriber
from plantwire.service import bookkeeping as books


class NotReplayable(PermanentError):
    """The subscriber's effects are outside the hub and cannot be rebuilt by replay."""


@dataclass
class ReplayReport:
    """What a replay selected and did."""

    subscriber: str
    selected: int = 0
    replayed: int = 0
    skipped_held: int = 0
    skipped_discarded: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    first_seq: int | None = None
    last_seq: int | None = None
    dry_run: bool = False
    rebuilt: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {"subscriber": self.subscriber, "selected": self.selected, "replayed": self.replayed,
                "skipped_held": self.skipped_held,
                "skipped_discarded": self.skipped_discarded, "by_type": dict(self.by_type),
                "first_seq": self.first_seq, "last_seq": self.last_seq, "dry_run": self.dry_run,
                "rebuilt": self.rebuilt}


@dataclass
class Replayer:
    """Rebuilds subscribers' effects."""

    journal: Journal
    state: StateStore
    subscribers: dict[str, Subscriber]
    page: int = 1000

    def replay(self, subscriber: str, types: Collection[str] | None = None,
               since: float | None = None, dry_run: bool = False) -> ReplayReport:
        """Rebuild the subscriber's effects; dry_run only counts.

        Unfiltered, a subscriber that can reset is emptied and every entry handled again; with
        filters, the selected entries' recorded effects are forgotten and handled again.
        """
        sub = self.subscribers.get(subscriber)
        if sub is None:
            raise NotFound(f"no subscriber {subscriber!r}; known: {', '.join(sorted(self.subscribers))}")
        if not getattr(sub, "replayable", True):
            raise NotReplayable(f"{subscriber} acts on outside systems; replaying it would act again")
        wanted = set(types or ()) or set(sub.types)
        if sub.types:
            wanted &= sub.types  # never hand a subscriber a type it does not take
        report = ReplayReport(subscriber, dry_run=dry_run)
        if sub.types and not wanted:
            return report
        with self.state.transaction() as tx:
            upto = books.cursor(tx, sub.name)
            # an operator gave up on these for this subscriber: replay must not apply them now
            discarded = {int(r["seq"]) for _, r in tx.scan(books.DLQ)
                         if r["subscriber"] == sub.name and r["status"] == "discarded"}
            # these took effect late (after a hold): replay them where they did, not at their seq
            late = {int(k): int(v) for k, v in tx.scan(books.late(sub.name))}
        rebuild = types is None and since is None and callable(getattr(sub, "reset", None))
        report.rebuilt = rebuild and not dry_run
        with self.state.transaction() as tx:
            if report.rebuilt:
                sub.reset(tx)  # type: ignore[attr-defined]
            for picked in _in_applied_order(self._pages(upto, wanted, since), late):
                report.skipped_discarded += sum(1 for e in picked if e.seq in discarded)
                self._apply(tx, sub, [e for e in picked if e.seq not in discarded], report)
        return report

    def _pages(self, upto: int, wanted: set[str], since: float | None) -> Iterator[list[JournalEntry]]:
        after = 0
        while after < upto:
            entries, last = self.journal.read(after, min(self.page, upto - after), wanted or None)
            if last == after:
                return
            after = last
            yield [e for e in entries if since is None or e.recorded_at >= since]

    @staticmethod
    def _apply(tx: StateTx, sub: Subscriber, entries: list[JournalEntry], report: ReplayReport) -> None:
        for entry in entries:
            if tx.get(books.pending(sub.name), books.seq_key(entry.seq)) is not None or \
                    tx.get(books.queue(sub.name),
                           f"{entry.key}{books.SEP}{books.seq_key(entry.seq)}") is not None:
                report.skipped_held += 1
                continue
            report.selected += 1
            report.by_type[entry.type] += 1
            report.first_seq = min(report.first_seq or entry.seq, entry.seq)  # late ones come
            report.last_seq = max(report.last_seq or entry.seq, entry.seq)  # out of seq order
            if not report.dry_run:
                if not report.rebuilt:
                    sub.forget(entry, tx)
                sub.handle(entry, tx)
                report.replayed += 1


def _in_applied_order(pages: Iterator[list[JournalEntry]], late: dict[int, int]
                      ) -> Iterator[list[JournalEntry]]:
    """The pages with each late entry moved to just after the seq delivery had reached when it
    took effect: an order-sensitive subscriber (stock that may not go negative) then sees the
    same order on replay as it did live, e.g. a dead-lettered consumption retried after a receipt."""
    postponed: list[tuple[int, int, JournalEntry]] = []
    for page in pages:
        out: list[JournalEntry] = []
        for entry in page:
            while postponed and postponed[0][0] < entry.seq:
                out.append(heapq.heappop(postponed)[2])
            if entry.seq in late:
                heapq.heappush(postponed, (late[entry.seq], entry.seq, entry))
            else:
                out.append(entry)
        yield out
    yield [heapq.heappop(postponed)[2] for _ in range(len(postponed))]
