"""Worker-side delivery from JetStream, with the embedded Dispatcher's exactly-once rule.

`BusDispatcher` is a `Dispatcher` whose new entries come from the durable pull consumers of the
partitions this worker leases, instead of ``journal.read``. Everything after that is the same
bookkeeping: per-key holds, retries with backoff, dead letters (``service.bookkeeping``).

Exactly once. Per subscriber and partition the state store keeps a position: the journal seq of
the last entry taken. A batch's effects and the new positions commit in one SERIALIZABLE
transaction that also checks the partition lease (``keys``); messages are acknowledged only after
that commit. An entry whose seq is at or below the position was applied already (a redelivery,
or a resend past JetStream's duplicate window): it is acknowledged and skipped.

No gaps. Every message names the previous entry of its partition (``Pw-Prev``). An entry is taken
only when that link equals the position; if the link points further on, the entries in between are
still with JetStream (in flight at a worker that died, or waiting for a redelivery) and are read
from the journal of record instead, in seq order, so a lost or late message never stalls or skips
a key. Their JetStream copies arrive later and are skipped by position.

Dead letters. A handler failure is recorded in the state store exactly as the embedded Dispatcher
records it (retry with backoff, then a dead letter with full context; the key held meanwhile). A
message that JetStream has delivered ``MaxDeliver`` times without any worker acknowledging it (each
one killed or hung on it) is not left to an advisory: its last delivery is written to the same
dead-letter store as ``DeliveryExhausted``, without running the handler again, and its key held.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import psycopg.errors
import structlog
from nats.aio.msg import Msg

from plantwire.bus.keys import LeaseLost, PartitionLeases, lease_key
from plantwire.bus.nats import BusUrl, DeliveryExhausted
from plantwire.bus.relay import RELAY
from plantwire.envelope import Envelope, JournalEntry
from plantwire.errors import ConfigurationError, StorageUnavailable
from plantwire.ports import Clock, Journal, StateStore, StateTx, Subscriber
from plantwire.service import bookkeeping as books
from plantwire.service.delivery import Dispatcher
from plantwire.service.retry import RetryPolicy

log = structlog.get_logger("plantwire.bus")
CONFLICT_RETRIES = 5
GAP_GRACE = 1.0
"""Seconds a partition may stay behind the relay with JetStream returning nothing (and having
nothing left to deliver for the first time), before the missing entries are read from the journal:
they are then in flight at a worker that died, or past MaxDeliver."""


def positions(sub: str) -> str:
    """Namespace of a subscriber's per-partition positions."""
    return f"bus.pos:{sub}"


def delivered_counts(sub: str) -> str:
    """Namespace of per-partition delivered counts, folded into the subscriber's stats by the leader
    (one shared counter written by every worker's transactions would make them clash)."""
    return f"bus.delivered:{sub}"


def count_delivered(tx: StateTx, sub: str, partition: int, n: int) -> None:
    """Count deliveries on the partition's own row."""
    if n:
        tx.add(delivered_counts(sub), lease_key(partition), n)


def last_by_key(sub: str) -> str:
    """Namespace of the order witness: per key, the last seq applied in stream order."""
    return f"bus.order:{sub}"


@dataclass(frozen=True)
class Delivery:
    """One message as the consumer sees it."""

    seq: int
    prev: int
    entry: JournalEntry
    delivered: int
    msg: Msg | None = None


def decode(msg: Msg) -> Delivery:
    """A message back into a journal entry with its links."""
    h = msg.headers or {}
    seq = int(h["Pw-Seq"])
    entry = JournalEntry(seq, float(h["Pw-At"]), Envelope.from_cloudevent(orjson.loads(msg.data)))
    return Delivery(seq, int(h["Pw-Prev"]), entry, msg.metadata.num_delivered, msg)


class Fetcher(Protocol):
    """What the consumer needs from the bus (the JetStream client)."""

    def fetch(self, wanted: Sequence[tuple[str, int, RetryPolicy]], batch: int,
              wait: float) -> dict[tuple[str, int], list[Msg]]: ...

    def ack(self, messages: Sequence[Msg]) -> None: ...

    def undelivered(self, subscriber: str, partition: int) -> int: ...


def is_conflict(exc: BaseException) -> bool:
    """A serialization failure or deadlock between workers: redo the transaction at once."""
    return isinstance(exc.__cause__, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected)


class BusDispatcher(Dispatcher):
    """Delivers the leased partitions' messages to every subscriber; the leader also runs retries."""

    def __init__(self, journal: Journal, state: StateStore, subscribers: Sequence[Subscriber],
                 clock: Clock, bus: Fetcher, url: BusUrl, leases: PartitionLeases,
                 policies: Mapping[str, RetryPolicy] | None = None,
                 default_policy: RetryPolicy | None = None, rand: Callable[[], float] = random.random,
                 batch_size: int = 500, wait: float = 0.2) -> None:
        super().__init__(journal, state, subscribers, clock, policies, default_policy, rand, batch_size)
        self.bus, self.url, self.leases, self._wait = bus, url, leases, wait
        self._suspects: dict[tuple[str, int], tuple[int, float]] = {}
        self._carry: dict[str, dict[int, list[Delivery]]] = {}

    def step(self) -> int:
        """Fetch from every leased (subscriber, partition), deliver, ack; then due retries."""
        work = 0
        owned = sorted(self.leases.owned())
        if owned:
            wanted = [(s.name, k, self.policy(s.name)) for s in self.subscribers for k in owned]
            # about batch_size entries per subscriber transaction, however many partitions: long
            # transactions would clash with the lease renewals and with other workers more often
            fetched = self.bus.fetch(wanted, max(10, self._batch // len(owned)), self._wait)
            behind = self._behind(owned, fetched)
            for sub in self.subscribers:
                carried = self._carry.pop(sub.name, {})
                parts = {k: sorted([*carried.get(k, []), *map(decode, fetched.get((sub.name, k), []))],
                                   key=lambda d: d.seq) for k in owned}
                work += self._catch_up(sub, behind.get(sub.name, {}), parts)
                work += self.deliver(sub, {k: v for k, v in parts.items() if v})
            self._remember(behind)
        if self.leases.leader:
            work += sum(self.retry_due(s) for s in self.subscribers)
            if not work:
                self._watermark()
        return work

    def _catch_up(self, sub: Subscriber, behind: dict[int, tuple[int, int]],
                  parts: dict[int, list[Delivery]]) -> int:
        """Fill in from the journal the partitions JetStream has been silent on for GAP_GRACE while
        the relay is ahead; returns 1 while still giving JetStream time (so the loop looks again)."""
        waiting = 0
        now = time.monotonic()  # real time on purpose: how long JetStream has been silent
        for k, (pos, upto) in behind.items():
            pos_then, since = self._suspects.get((sub.name, k), (-1, now))
            if pos_then == pos and now - since >= GAP_GRACE and not self.bus.undelivered(sub.name, k):
                parts[k] = self._tail(k, pos, upto)  # JetStream has nothing more to give now
            else:
                waiting = 1
        return waiting

    def _remember(self, behind: dict[str, dict[int, tuple[int, int]]]) -> None:
        """Since when each lagging partition has been at its position."""
        now, kept = time.monotonic(), {}
        for s, ks in behind.items():
            for k, (pos, _) in ks.items():
                old = self._suspects.get((s, k))
                kept[(s, k)] = old if old is not None and old[0] == pos else (pos, now)
        self._suspects = kept

    def _watermark(self) -> None:
        """When idle: fold the partitions' delivered counts into the subscribers' stats, and set each
        subscriber's journal cursor (what status pages and queries read) to the relay's position
        once every partition has taken all that was relayed: nothing at or below it waits."""
        with self.state.transaction() as tx:
            relayed = tx.get(RELAY, self.url.prefix)
            if relayed is None:
                return
            for sub in self.subscribers:
                folded = sum(int(v) for _, v in tx.scan(delivered_counts(sub.name)))
                if folded:
                    tx.clear(delivered_counts(sub.name))
                    books.count(tx, sub.name, "delivered", folded)
                at = {k: int(v) for k, v in tx.scan(positions(sub.name))}
                caught_up = all(at.get(lease_key(k), 0) >= int(p) for k, p in enumerate(relayed["prev"]))
                if caught_up and books.cursor(tx, sub.name) < int(relayed["seq"]):
                    tx.put(books.CURSOR, sub.name, int(relayed["seq"]))

    def deliver(self, sub: Subscriber, parts: dict[int, list[Delivery]]) -> int:
        """Take the deliveries of some partitions in one transaction (one per entry after a
        handler failure), then acknowledge their messages. Returns how many were looked at."""
        for attempt in range(CONFLICT_RETRIES + 1):
            parts = {k: v for k, v in parts.items() if k in self.leases.owned()}
            if not parts:
                return 0
            try:
                self._batch_tx(sub, parts)
                break
            except LeaseLost:
                continue  # drop that partition's batch: its new owner reads on from the position
            except StorageUnavailable as exc:
                if not is_conflict(exc):
                    self._carry[sub.name] = parts  # PostgreSQL away: keep them for the next round
                    raise
                if attempt == CONFLICT_RETRIES:
                    self._carry[sub.name] = parts
                    return 0
                time.sleep(random.uniform(0, 0.02 * attempt))  # apart from the other worker
                continue
            except ConfigurationError:
                raise
            except Exception:  # a handler failed: redo one entry per transaction below
                self._singly(sub, parts)
                break
        else:
            return 0  # nothing committed: leave the messages unacknowledged
        self.bus.ack([d.msg for ds in parts.values() for d in ds if d.msg is not None])
        return sum(len(v) for v in parts.values())

    def _batch_tx(self, sub: Subscriber, parts: dict[int, list[Delivery]]) -> None:
        with self.state.transaction() as tx:
            held = bool(tx.scan(books.heads(sub.name), limit=1))
            for k, deliveries in parts.items():
                self.leases.check(tx, k)
                pos = int(tx.get(positions(sub.name), lease_key(k)) or 0)
                taken = 0
                for entry, delivered in self._chain(k, pos, deliveries):
                    taken += self._apply(sub, entry, tx, held, delivered)
                    pos = entry.seq
                tx.put(positions(sub.name), lease_key(k), pos)
                count_delivered(tx, sub.name, k, taken)

    def _singly(self, sub: Subscriber, parts: dict[int, list[Delivery]]) -> None:
        for k, deliveries in parts.items():
            with self.state.transaction() as tx:
                pos = int(tx.get(positions(sub.name), lease_key(k)) or 0)
            for entry, delivered in self._chain(k, pos, deliveries):
                self._one(sub, k, entry, delivered)

    def _one(self, sub: Subscriber, k: int, entry: JournalEntry, delivered: int) -> None:
        try:
            with self.state.transaction() as tx:
                if not self._due(tx, sub, k, entry):
                    return
                count_delivered(tx, sub.name, k, self._apply(sub, entry, tx, True, delivered))
                tx.put(positions(sub.name), lease_key(k), entry.seq)
        except StorageUnavailable:
            raise
        except Exception as error:  # recorded: retried with backoff or dead-lettered
            with self.state.transaction() as tx:
                if not self._due(tx, sub, k, entry):
                    return
                self._record_failure(tx, sub.name, entry, error, None)
                tx.put(positions(sub.name), lease_key(k), entry.seq)

    def _due(self, tx: StateTx, sub: Subscriber, k: int, entry: JournalEntry) -> bool:
        self.leases.check(tx, k)
        return int(tx.get(positions(sub.name), lease_key(k)) or 0) < entry.seq

    def _apply(self, sub: Subscriber, entry: JournalEntry, tx: StateTx, held: bool, delivered: int) -> int:
        if sub.types and entry.type not in sub.types:
            return 0
        if held and books.park(tx, sub.name, entry):
            return 0
        if delivered >= self.policy(sub.name).max_attempts:
            error = DeliveryExhausted(f"JetStream delivered #{entry.seq} {delivered} times without an ack")
            self._record_failure(tx, sub.name, entry, error, None)
            return 0
        if self.url.order_check:
            self._witness(tx, sub.name, entry)
        sub.handle(entry, tx)
        return 1

    @staticmethod
    def _witness(tx: StateTx, sub: str, entry: JournalEntry) -> None:
        last = tx.get(last_by_key(sub), entry.key)
        if last is not None and int(last) >= entry.seq:
            books.count(tx, sub, "order_violations")
        tx.put(last_by_key(sub), entry.key, entry.seq)

    def _chain(self, k: int, pos: int, deliveries: Iterable[Delivery]) -> list[tuple[JournalEntry, int]]:
        """The entries to take after `pos`, in order: each delivery past the position, preceded by
        whatever its link says is missing, read from the journal of record."""
        out: list[tuple[JournalEntry, int]] = []
        for d in deliveries:
            if d.seq <= pos:
                continue  # applied already: a redelivery or a resend
            if d.prev > pos:
                missing = self._from_journal(k, pos, d.prev)
                out.extend((e, 0) for e in missing)
            out.append((d.entry, d.delivered))
            pos = d.seq
        return out

    def _behind(self, owned: Sequence[int],
                fetched: Mapping[tuple[str, int], Sequence[Msg]]) -> dict[str, dict[int, tuple[int, int]]]:
        """(position, last relayed seq) of each partition that JetStream returned nothing for although
        the relay has published past the position: its next messages are in flight at a worker that
        died (until JetStream's ack wait runs out), so they are read from the journal now."""
        idle = [(s.name, k) for s in self.subscribers for k in owned if not fetched.get((s.name, k))]
        if not idle:
            return {}
        with self.state.transaction() as tx:
            relayed = tx.get(RELAY, self.url.prefix)
            if relayed is None:
                return {}
            pos = {(s, k): int(tx.get(positions(s), lease_key(k)) or 0) for s, k in idle}
        out: dict[str, dict[int, tuple[int, int]]] = {}
        for (s, k), at in pos.items():
            upto = int(relayed["prev"][k])
            if upto > at:
                out.setdefault(s, {})[k] = (at, upto)
        return out

    def _tail(self, k: int, pos: int, upto: int) -> list[Delivery]:
        entries = self._from_journal(k, pos, upto)
        prevs = [pos, *(e.seq for e in entries[:-1])]
        return [Delivery(e.seq, p, e, 0) for e, p in zip(entries, prevs, strict=True)]

    def _from_journal(self, k: int, after: int, upto: int) -> list[JournalEntry]:
        found: list[JournalEntry] = []
        cursor = after
        while cursor < upto:
            entries, last = self.journal.read(cursor, min(5000, upto - cursor))
            if last == cursor:
                break
            found += [e for e in entries
                      if e.seq <= upto and self.url.partition(e) == k]
            cursor = last
        if not found or found[-1].seq != upto:
            raise ConfigurationError(
                f"partition {k}: the journal has no entry #{upto} in this partition; was the bus's "
                "partition count changed while messages were in flight?")
        log.info("gap filled from the journal", partition=k, after=after, upto=upto, entries=len(found))
        return found


def state_positions(state: StateStore, subscribers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every subscriber's per-partition positions (status pages, tests)."""
    with state.transaction() as tx:
        return {s: dict(tx.scan(positions(s))) for s in subscribers}


__all__ = ["BusDispatcher", "Delivery", "decode", "is_conflict", "last_by_key", "positions",
           "state_positions"]
