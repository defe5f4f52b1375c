"""Where delivery keeps its books in the state store, and the moves on them.

Per subscriber S, inside the same transactions as S's effects:

- ``cursor``/S: the last journal seq S has taken (handled, or parked behind a failure).
- ``heads:S``/key: present while a business key is held up; the seq of its failing head event.
- ``pending:S``/seq: the head event of a held-up key: status ``retry`` (with ``next_at``) or ``dead``.
- ``queue:S``/key + seq: later events of a held-up key, waiting in journal order.
- ``late:S``/seq: events that took effect only after a hold (a retry that succeeded, or one
  released from behind it), with S's cursor at that moment, so replay applies them in that order.
- ``dlq``/id: dead letters, with the envelope's identity, error class and message, attempts, times.
"""

from __future__ import annotations

from typing import Any

from plantwire.envelope import JournalEntry
from plantwire.ports import StateTx

CURSOR = "cursor"
DLQ = "dlq"
COUNTERS = "counters"
STATS = "stats"
SEP = "\x1f"


def heads(sub: str) -> str:
    """Namespace of held-up keys."""
    return f"heads:{sub}"


def pending(sub: str) -> str:
    """Namespace of head events awaiting retry or dead-lettered."""
    return f"pending:{sub}"


def queue(sub: str) -> str:
    """Namespace of events waiting behind a held-up head."""
    return f"queue:{sub}"


def late(sub: str) -> str:
    """Namespace of events that took effect after a hold: seq -> the cursor when they did."""
    return f"late:{sub}"


def seq_key(seq: int) -> str:
    """Sortable key for a journal sequence."""
    return f"{seq:015d}"


def dlq_key(dlq_id: int) -> str:
    """Sortable key for a dead-letter id."""
    return f"{dlq_id:010d}"


def cursor(tx: StateTx, sub: str) -> int:
    """The subscriber's position."""
    return int(tx.get(CURSOR, sub) or 0)


def park(tx: StateTx, sub: str, entry: JournalEntry) -> bool:
    """Queue the entry behind its key's failing head; False when the key is not held up."""
    if tx.get(heads(sub), entry.key) is None:
        return False
    tx.put(queue(sub), f"{entry.key}{SEP}{seq_key(entry.seq)}", entry.seq)
    return True


def queued_behind(tx: StateTx, sub: str, key: str, limit: int | None = None) -> list[int]:
    """Seqs waiting behind a held-up key, oldest first."""
    return [int(v) for _, v in tx.scan(queue(sub), f"{key}{SEP}", limit=limit)]


def hold(tx: StateTx, sub: str, record: dict[str, Any]) -> None:
    """Make this record the held-up head of its key."""
    tx.put(pending(sub), seq_key(record["seq"]), record)
    tx.put(heads(sub), record["key"], record["seq"])


def release(tx: StateTx, sub: str, key: str, seq: int, now: float) -> int | None:
    """Drop the head of a key; promote the next queued event (ready now). Returns its seq."""
    tx.delete(pending(sub), seq_key(seq))
    following = tx.scan(queue(sub), f"{key}{SEP}", limit=1)
    if not following:
        tx.delete(heads(sub), key)
        return None
    qkey, nxt = following[0]
    tx.delete(queue(sub), qkey)
    hold(tx, sub, {"seq": int(nxt), "key": key, "status": "retry", "attempts": 0,
                   "next_at": now, "dlq": None})
    return int(nxt)


def next_dlq_id(tx: StateTx) -> int:
    """A new dead-letter id."""
    return int(tx.add(COUNTERS, "dlq", 1))


def count(tx: StateTx, sub: str, what: str, n: int = 1) -> None:
    """Bump a per-subscriber statistic (delivered, dead_lettered, ...)."""
    if n:
        tx.add(STATS, f"{sub}{SEP}{what}", n)


def close_dead_letter(
    tx: StateTx, record: dict[str, Any], status: str, reason: str | None, now: float
) -> None:
    """Mark the dead letter of a held-up head (if it has one) resolved or discarded."""
    if record.get("dlq") is None:
        return
    key = dlq_key(record["dlq"])
    letter = tx.get(DLQ, key)
    if letter is not None:
        letter.update(status=status, reason=reason, resolved_at=now)
        tx.put(DLQ, key, letter)
