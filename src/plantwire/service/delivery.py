"""Deliver journal entries to subscribers: at least once, effects exactly once, order per key.

Each subscriber's position moves in the same state transaction as the effects of the entries it
covers. A batch is first tried in one transaction; if any handler fails, the batch is rolled back
and redone one entry per transaction, so a failure costs only its own entry. A failed entry holds
up later entries of its business key (and only those) until a retry succeeds, or an operator
retries or discards its dead letter.

A subscriber that can say beforehand which keys it will read (`DeclaresReads`) gets them read in one
statement per batch from a store that can do that (`Prefetches`, PostgreSQL): without it, every
first read of a key is a round trip of its own. Where the store offers optimistic transactions
(`OffersOptimistic`, PostgreSQL), delivery uses them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from plantwire.envelope import JournalEntry
from plantwire.errors import StorageUnavailable
from plantwire.ports import Clock, Journal, StateStore, StateTx, Subscriber
from plantwire.service import bookkeeping as books
from plantwire.service.retry import RetryPolicy, backoff_delay

MAX_ERROR_TEXT = 2000


@runtime_checkable
class DeclaresReads(Protocol):
    """A subscriber that knows, before handling an entry, the state keys it will read."""

    def reads(self, entry: JournalEntry) -> Iterable[tuple[str, str]]: ...


@runtime_checkable
class Prefetches(Protocol):
    """A state transaction that can read many keys in one go (later `get`s are answered from it)."""

    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None: ...


@runtime_checkable
class OffersOptimistic(Protocol):
    """A state store that can also run optimistic transactions: reads before the transaction begins,
    checked when it does (PostgreSQL; see ``journal.postgres_state``)."""

    def optimistic(self) -> StateStore: ...


def reads_of(sub: Subscriber, entries: Iterable[JournalEntry]) -> Iterator[tuple[str, str]]:
    """What the subscriber says handling these entries will read (nothing if it cannot say)."""
    if isinstance(sub, DeclaresReads):
        yield from (k for e in entries if not sub.types or e.type in sub.types for k in sub.reads(e))


def prefetch(tx: StateTx, keys: Iterable[tuple[str, str]]) -> None:
    """Read these keys ahead in one go, where the store can (the keys are not even listed where
    it cannot)."""
    if isinstance(tx, Prefetches):
        tx.prefetch(keys)


def error_class(error: BaseException) -> str:
    """The qualified class name recorded with a failure."""
    cls = type(error)
    return f"{cls.__module__}.{cls.__qualname__}"


class Dispatcher:
    """Moves every subscriber along the journal; `step` does one round, `drain` until idle."""

    def __init__(
        self,
        journal: Journal,
        state: StateStore,
        subscribers: Sequence[Subscriber],
        clock: Clock,
        policies: Mapping[str, RetryPolicy] | None = None,
        default_policy: RetryPolicy | None = None,
        rand: Callable[[], float] = random.random,
        batch_size: int = 500,
    ) -> None:
        self.journal, self.clock = journal, clock
        # transactions that write are optimistic where the store offers it: short in the database, so
        # those of several workers rarely overlap and clash; reading alone is done in plain ones
        # (an optimistic one that only read could not take back what it handed out, were it stale)
        self.state = state.optimistic() if isinstance(state, OffersOptimistic) else state
        self.reader = state
        self.subscribers = list(subscribers)
        self._policies = dict(policies or {})
        self._default = default_policy or RetryPolicy()
        self._rand = rand
        self._batch = batch_size
        self._cursors: dict[str, int] = {}

    def policy(self, sub: str) -> RetryPolicy:
        """The retry policy of a subscriber."""
        return self._policies.get(sub, self._default)

    def step(self) -> int:
        """One round over all subscribers: new entries, then due retries. Returns work done."""
        reads: dict[int, tuple[list[JournalEntry], int]] = {}
        return sum(self.advance(s, reads) + self.retry_due(s) for s in self.subscribers)

    def drain(self, max_rounds: int = 100_000) -> None:
        """Step until there is nothing left to do now (due retries included)."""
        for _ in range(max_rounds):
            if not self.step():
                return

    def _read(self, after: int, sub: Subscriber,
              reads: dict[int, tuple[list[JournalEntry], int]]) -> tuple[list[JournalEntry], int]:
        """Entries after a position; subscribers at the same position share one read and parse."""
        if after not in reads:
            reads[after] = self.journal.read(after, self._batch)
        entries, last = reads[after]
        return ([e for e in entries if e.type in sub.types] if sub.types else entries), last

    def advance(self, sub: Subscriber,
                reads: dict[int, tuple[list[JournalEntry], int]] | None = None) -> int:
        """Deliver the next batch of new entries to one subscriber."""
        start = self._cursors.get(sub.name)
        if start is None:
            with self.reader.transaction() as tx:
                start = self._cursors[sub.name] = books.cursor(tx, sub.name)
        entries, last = self._read(start, sub, {} if reads is None else reads)
        if last == start:
            return 0
        try:
            with self.state.transaction() as tx:
                if books.cursor(tx, sub.name) != start:  # moved by another process: catch up
                    self._cursors.pop(sub.name, None)
                    return 1
                held = bool(tx.scan(books.heads(sub.name), limit=1))
                prefetch(tx, reads_of(sub, entries))
                delivered = sum(self._take(sub, e, tx, held) for e in entries)
                tx.put(books.CURSOR, sub.name, last)
                books.count(tx, sub.name, "delivered", delivered)
            self._cursors[sub.name] = last
            return max(1, len(entries))
        except StorageUnavailable:
            self._cursors.pop(sub.name, None)
            raise
        except Exception:  # a handler failed: redo one entry per transaction below
            self._cursors.pop(sub.name, None)
        for entry in entries:
            self._advance_one(sub, entry)
        with self.state.transaction() as tx:
            if books.cursor(tx, sub.name) < last:
                tx.put(books.CURSOR, sub.name, last)
        return max(1, len(entries))

    def _take(self, sub: Subscriber, entry: JournalEntry, tx: StateTx, held: bool = True) -> int:
        if held and books.park(tx, sub.name, entry):
            return 0
        sub.handle(entry, tx)
        return 1

    def _advance_one(self, sub: Subscriber, entry: JournalEntry) -> None:
        try:
            with self.state.transaction() as tx:
                if books.cursor(tx, sub.name) >= entry.seq:
                    return
                books.count(tx, sub.name, "delivered", self._take(sub, entry, tx))
                tx.put(books.CURSOR, sub.name, entry.seq)
        except StorageUnavailable:
            raise
        except Exception as error:  # recorded: retried with backoff or dead-lettered
            with self.state.transaction() as tx:
                if books.cursor(tx, sub.name) >= entry.seq:
                    return
                self._record_failure(tx, sub.name, entry, error, None)
                tx.put(books.CURSOR, sub.name, entry.seq)

    def retry_due(self, sub: Subscriber) -> int:
        """Try again the held-up heads whose backoff has passed."""
        now = self.clock.now()
        with self.reader.transaction() as tx:
            due = [r for _, r in tx.scan(books.pending(sub.name))
                   if r["status"] == "retry" and r["next_at"] <= now]
        for record in due:
            self._retry_one(sub, record)
        return len(due)

    def _retry_one(self, sub: Subscriber, record: dict[str, Any]) -> None:
        entry = self.journal.get_seq(record["seq"])
        if entry is None:
            raise StorageUnavailable(f"journal entry #{record['seq']} is missing")
        try:
            with self.state.transaction() as tx:
                current = tx.get(books.pending(sub.name), books.seq_key(record["seq"]))
                if current is None or current["status"] != "retry":
                    return
                sub.handle(entry, tx)
                books.count(tx, sub.name, "delivered")
                tx.put(books.late(sub.name), books.seq_key(entry.seq), books.cursor(tx, sub.name))
                books.close_dead_letter(tx, current, "resolved", None, self.clock.now())
                books.release(tx, sub.name, entry.key, entry.seq, self.clock.now())
        except StorageUnavailable:
            raise
        except Exception as error:  # recorded: retried with backoff or dead-lettered
            with self.state.transaction() as tx:
                current = tx.get(books.pending(sub.name), books.seq_key(record["seq"]))
                if current is not None and current["status"] == "retry":
                    self._record_failure(tx, sub.name, entry, error, current)

    def _record_failure(
        self, tx: StateTx, sub: str, entry: JournalEntry, error: BaseException,
        previous: dict[str, Any] | None,
    ) -> None:
        now = self.clock.now()
        record = dict(previous or {"seq": entry.seq, "key": entry.key, "dlq": None,
                                   "attempts": 0, "first_failed_at": now})
        record.setdefault("first_failed_at", now)
        record["attempts"] = int(record["attempts"]) + 1
        record.update(last_failed_at=now, error_class=error_class(error),
                      error_message=str(error)[:MAX_ERROR_TEXT] or type(error).__name__)
        policy = self.policy(sub)
        if policy.gives_up(error, record["attempts"]):
            record["status"] = "dead"
            record["dlq"] = self._dead_letter(tx, sub, entry, record)
            books.count(tx, sub, "dead_lettered")
        else:
            record["status"] = "retry"
            record["next_at"] = now + backoff_delay(policy, record["attempts"], self._rand())
        books.hold(tx, sub, record)

    def _dead_letter(self, tx: StateTx, sub: str, entry: JournalEntry, record: dict[str, Any]) -> int:
        dlq_id = record.get("dlq") or books.next_dlq_id(tx)
        old = tx.get(books.DLQ, books.dlq_key(dlq_id)) or {}
        env = entry.envelope
        tx.put(books.DLQ, books.dlq_key(dlq_id), {
            **old,
            "id": dlq_id, "subscriber": sub, "seq": entry.seq, "source": env.source,
            "event_id": env.id, "type": env.type, "key": entry.key, "status": "open",
            "error_class": record["error_class"], "error_message": record["error_message"],
            "attempts": int(old.get("prior_attempts", 0)) + record["attempts"],
            "prior_attempts": old.get("prior_attempts", 0),
            "first_failed_at": old.get("first_failed_at", record["first_failed_at"]),
            "last_failed_at": record["last_failed_at"], "retries": old.get("retries", 0),
            "reason": None, "resolved_at": None,
        })
        return int(dlq_id)
