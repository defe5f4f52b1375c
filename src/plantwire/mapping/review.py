"""The review queue: events a check quarantined, kept until a person approves (journal) or rejects them.

State: ``dq.review`` with key = review id (zero-padded counter) -> the record; ``dq.review.ids`` maps
``source|id`` -> review id so a resent event is held once; ``dq.review.meta`` holds the counter.
Approving appends the event to the journal exactly as it arrived (insert-if-absent, so approving
twice or after a crash journals it once) and then marks the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plantwire.envelope import Appended, Envelope, Pending
from plantwire.errors import BusinessRuleViolation, IdentityConflict, Issue, NotFound
from plantwire.ports import Clock, Journal, StateStore

REVIEW, IDS, META = "dq.review", "dq.review.ids", "dq.review.meta"
STATUSES = ("open", "approved", "rejected")


def review_key(number: int) -> str:
    """The review id of the n-th held event."""
    return f"{number:09d}"


class ReviewQueue:
    """Hold, list, approve and reject quarantined events."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        self.state, self.clock = state, clock

    def hold(self, pending: Pending, issues: Sequence[Issue]) -> str:
        """Keep a quarantined event (once per source+id); returns its review id. Ingest's `hold`."""
        env = pending.envelope
        ident = f"{env.source}|{env.id}"
        with self.state.transaction() as tx:
            known = tx.get(IDS, ident)
            if known is not None:
                return str(known)
            review_id = review_key(int(tx.add(META, "counter", 1)))
            tx.put(REVIEW, review_id, {
                "id": review_id, "status": "open", "held_at": self.clock.now(), "source": env.source,
                "event_id": env.id, "type": env.type, "key": env.partitionkey,
                "issues": [i.as_dict() for i in issues], "event": env.to_cloudevent(),
                "decided_at": None, "decided_by": None, "note": None, "seq": None})
            tx.put(IDS, ident, review_id)
        return review_id

    def list(self, status: str | None = "open", limit: int = 500) -> list[dict[str, Any]]:
        """Held events, oldest first, of one status (None: all)."""
        with self.state.transaction() as tx:
            rows = tx.scan(REVIEW)
        return [v for _, v in rows if status is None or v["status"] == status][:limit]

    def show(self, review_id: str) -> dict[str, Any]:
        """One held event; NotFound when there is no such review id."""
        with self.state.transaction() as tx:
            found = tx.get(REVIEW, review_id)
        if found is None:
            raise NotFound(f"no review item {review_id!r}")
        return dict(found)

    def approve(self, review_id: str, journal: Journal, by: str, note: str = "") -> dict[str, Any]:
        """Journal the held event as it arrived, then mark it approved."""
        item = self._open(review_id)
        outcome = journal.append([Pending.of(Envelope.from_cloudevent(item["event"]))])[0]
        if not isinstance(outcome, Appended):
            raise IdentityConflict(item["source"], item["event_id"], outcome.seq)
        return self._decide(review_id, "approved", by, note, outcome.seq)

    def reject(self, review_id: str, by: str, note: str) -> dict[str, Any]:
        """Mark a held event rejected; it is never journaled."""
        self._open(review_id)
        return self._decide(review_id, "rejected", by, note, None)

    def _open(self, review_id: str) -> dict[str, Any]:
        item = self.show(review_id)
        if item["status"] != "open":
            raise BusinessRuleViolation(f"review item {review_id} is already {item['status']}")
        return item

    def _decide(self, review_id: str, status: str, by: str, note: str, seq: int | None) -> dict[str, Any]:
        with self.state.transaction() as tx:
            item: dict[str, Any] = dict(tx.get(REVIEW, review_id) or {})
            item.update(status=status, decided_at=self.clock.now(), decided_by=by, note=note, seq=seq)
            tx.put(REVIEW, review_id, item)
        return item
