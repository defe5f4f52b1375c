"""Read side for operators: tail the journal, show one event and where it is in delivery, status."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from plantwire.envelope import JournalEntry
from plantwire.errors import NotFound
from plantwire.ports import Journal, StateStore, Subscriber
from plantwire.service import bookkeeping as books


def entry_dict(entry: JournalEntry) -> dict[str, Any]:
    """A journal entry as JSON: seq, recorded_at and the CloudEvent."""
    return {"seq": entry.seq, "recorded_at": entry.recorded_at, "event": entry.envelope.to_cloudevent()}


@dataclass
class Queries:
    """Questions operators ask of the journal and delivery."""

    journal: Journal
    state: StateStore
    subscribers: Sequence[Subscriber]

    def tail(self, after: int | None = None, limit: int = 20,
             types: Collection[str] | None = None) -> list[JournalEntry]:
        """Entries after a seq; without one, the newest `limit` entries (of those types), oldest first."""
        if after is not None:
            return self.journal.read(after, limit, types)[0]
        head = self.journal.head()
        start, window = head, limit
        found: list[JournalEntry] = []
        while start > 0 and len(found) < limit:
            start = max(0, start - window)
            found = self.journal.read(start, head - start, types)[0]
            window *= 4
        return found[-limit:]

    def show(self, source: str, event_id: str) -> dict[str, Any]:
        """One event with its delivery state for every subscriber that takes its type."""
        entry = self.journal.get(source, event_id)
        if entry is None:
            raise NotFound(f"no event with source={source!r} id={event_id!r} in the journal")
        out = entry_dict(entry)
        out["delivery"] = self.delivery_of(entry)
        return out

    def delivery_of(self, entry: JournalEntry) -> dict[str, Any]:
        """Per subscriber: delivered, not-yet, retrying, dead-lettered or blocked behind another."""
        result: dict[str, Any] = {}
        with self.state.transaction() as tx:
            letters = {r["subscriber"]: r for _, r in tx.scan(books.DLQ) if r["seq"] == entry.seq}
            for sub in self.subscribers:
                if sub.types and entry.type not in sub.types:
                    continue
                record = tx.get(books.pending(sub.name), books.seq_key(entry.seq))
                queued = tx.get(books.queue(sub.name),
                                f"{entry.key}{books.SEP}{books.seq_key(entry.seq)}")
                if record is not None:
                    state = {"state": "dead-lettered" if record["status"] == "dead" else "retrying",
                             **{k: record.get(k) for k in ("attempts", "next_at", "error_class",
                                                           "error_message", "dlq")}}
                elif queued is not None:
                    state = {"state": "blocked", "behind": tx.get(books.heads(sub.name), entry.key)}
                elif sub.name in letters and letters[sub.name]["status"] == "discarded":
                    letter = letters[sub.name]
                    state = {"state": "discarded", "dlq": letter["id"], "reason": letter["reason"]}
                elif books.cursor(tx, sub.name) >= entry.seq:
                    state = {"state": "delivered"}
                else:
                    state = {"state": "waiting"}
                result[sub.name] = state
        return result

    def _recorded_after(self, position: int, head: int) -> float | None:
        if position >= head:
            return None
        nxt = self.journal.get_seq(position + 1)
        return nxt.recorded_at if nxt else None

    def status(self) -> dict[str, Any]:
        """Journal head and, per subscriber, position, lag and counts."""
        head = self.journal.head()
        subs: dict[str, Any] = {}
        with self.state.transaction() as tx:
            for sub in self.subscribers:
                stats = {k.split(books.SEP, 1)[1]: int(v)
                         for k, v in tx.scan(books.STATS, f"{sub.name}{books.SEP}")}
                pend = [r for _, r in tx.scan(books.pending(sub.name))]
                position = books.cursor(tx, sub.name)
                subs[sub.name] = {
                    "position": position,
                    "lag": head - position,
                    "oldest_waiting_at": self._recorded_after(position, head),
                    "delivered": stats.get("delivered", 0),
                    "dead_lettered": stats.get("dead_lettered", 0),
                    "discarded": stats.get("discarded", 0),
                    "retrying": sum(1 for r in pend if r["status"] == "retry"),
                    "dead": sum(1 for r in pend if r["status"] == "dead"),
                    "blocked": len(tx.scan(books.queue(sub.name))),
                }
            open_dlq = sum(1 for _, v in tx.scan(books.DLQ) if v["status"] == "open")
        return {"journal_head": head, "dead_letters_open": open_dlq, "subscribers": subs}
