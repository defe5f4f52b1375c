"""Operate the dead-letter store: list, show, retry, discard (with a reason that is kept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plantwire.errors import NotFound, PermanentError
from plantwire.ports import Clock, Journal, StateStore
from plantwire.service import bookkeeping as books

STATUSES = ("open", "retrying", "resolved", "discarded")


class DeadLetterStateError(PermanentError):
    """The dead letter is not in a state that allows this action."""


@dataclass
class DeadLetters:
    """Dead letters of all subscribers."""

    journal: Journal
    state: StateStore
    clock: Clock

    def list(self, status: str | None = "open", subscriber: str | None = None,
             limit: int = 200) -> list[dict[str, Any]]:
        """Dead letters, newest last, each with how many later events of its key wait behind it."""
        with self.state.transaction() as tx:
            rows = [v for _, v in tx.scan(books.DLQ)]
            picked = [r for r in rows if (status is None or r["status"] == status)
                      and (subscriber is None or r["subscriber"] == subscriber)][-limit:]
            for r in picked:
                r["blocking"] = self._blocking(tx, r)
        return picked

    def show(self, dlq_id: int) -> dict[str, Any]:
        """One dead letter with its full envelope and the events it holds up."""
        with self.state.transaction() as tx:
            letter = self._get(tx, dlq_id)
            letter["blocking"] = self._blocking(tx, letter)
            letter["blocked_seqs"] = (
                books.queued_behind(tx, letter["subscriber"], letter["key"], limit=50)
                if letter["status"] in ("open", "retrying") else []
            )
        entry = self.journal.get_seq(letter["seq"])
        letter["event"] = entry.envelope.to_cloudevent() if entry else None
        return letter

    def retry(self, dlq_id: int) -> dict[str, Any]:
        """Deliver the dead-lettered event again now, with a fresh retry budget."""
        with self.state.transaction() as tx:
            letter = self._get(tx, dlq_id)
            if letter["status"] != "open":
                raise DeadLetterStateError(f"dead letter {dlq_id} is {letter['status']}, not open")
            sub, seq = letter["subscriber"], letter["seq"]
            record = tx.get(books.pending(sub), books.seq_key(seq))
            if record is None:
                raise DeadLetterStateError(f"dead letter {dlq_id} is not held in delivery")
            record.update(status="retry", attempts=0, next_at=self.clock.now())
            books.hold(tx, sub, record)
            letter.update(status="retrying", prior_attempts=letter["attempts"],
                          retries=int(letter.get("retries", 0)) + 1)
            tx.put(books.DLQ, books.dlq_key(dlq_id), letter)
        return letter

    def discard(self, dlq_id: int, reason: str) -> dict[str, Any]:
        """Give up on the event for its subscriber; the key's next event goes on. Reason kept."""
        if not reason or not reason.strip():
            raise DeadLetterStateError("a reason is required to discard a dead letter")
        now = self.clock.now()
        with self.state.transaction() as tx:
            letter = self._get(tx, dlq_id)
            if letter["status"] not in ("open", "retrying"):
                raise DeadLetterStateError(f"dead letter {dlq_id} is already {letter['status']}")
            sub = letter["subscriber"]
            record = tx.get(books.pending(sub), books.seq_key(letter["seq"])) or letter
            books.close_dead_letter(tx, {"dlq": dlq_id}, "discarded", reason.strip(), now)
            if tx.get(books.pending(sub), books.seq_key(letter["seq"])) is not None:
                books.release(tx, sub, record["key"], letter["seq"], now)
            books.count(tx, sub, "discarded")
            return self._get(tx, dlq_id)

    @staticmethod
    def _get(tx: Any, dlq_id: int) -> dict[str, Any]:
        letter = tx.get(books.DLQ, books.dlq_key(dlq_id))
        if letter is None:
            raise NotFound(f"no dead letter with id {dlq_id}")
        return dict(letter)

    @staticmethod
    def _blocking(tx: Any, letter: dict[str, Any]) -> int:
        if letter["status"] not in ("open", "retrying"):
            return 0
        return len(books.queued_behind(tx, letter["subscriber"], letter["key"], limit=100_000))
