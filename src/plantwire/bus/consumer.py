"""Worker-side delivery from JetStream, with the embedded Dispatcher's exactly-once rule.

`BusDispatcher` is a `Dispatcher` whose new entries come from the durable pull consumers of the
partitions this worker leases (one per partition, shared by every subscriber), instead of
``journal.read``. Everything after that is the same bookkeeping: per-key holds, retries with
backoff, dead letters (``service.bookkeeping``).

Exactly once. Per subscriber and partition the state store keeps a position: the journal seq of
the last entry taken. A round's fetched batches (every leased partition's) are applied for every
subscriber in one transaction, with the new positions and a check of each partition's lease
(``keys``); their messages are acknowledged only after that commit. An entry whose seq is at or
below a subscriber's position was applied already (a redelivery, or a resend past JetStream's
duplicate window): that subscriber skips it. If a handler fails, the round is redone one
subscriber per transaction, and the failing subscriber's entries one per transaction, so a poison
message costs only its own entry.

No gaps. Every message names the previous entry of its partition (``Pw-Prev``). An entry is taken
only when that link equals the position; if the link points further on, the entries in between are
still with JetStream (in flight at a worker that died, or waiting for a redelivery) and are read
from the journal of record instead, in seq order, so a lost or late message never stalls or skips
a key. Their JetStream copies arrive later and are skipped by position.

Dead letters. A handler failure is recorded in the state store exactly as the embedded Dispatcher
records it (retry with backoff, then a dead letter with full context; the key held meanwhile). A
message that JetStream has delivered as often as a subscriber's policy allows (``max_attempts``;
the consumer's ``MaxDeliver`` is the largest of them) without any worker acknowledging it (each one
killed or hung on it) is not left to an advisory: that delivery is written to the same dead-letter
store as ``DeliveryExhausted``, without running the handler again, and its key held.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
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
from plantwire.service.delivery import Dispatcher, prefetch, reads_of
from plantwire.service.retry import RetryPolicy

log = structlog.get_logger("plantwire.bus")
CONFLICT_RETRIES = 5
GAP_GRACE = 1.0
"""Seconds a partition may stay behind the relay with JetStream returning nothing (and having
nothing left to deliver for the first time), before the missing entries are read from the journal:
they are then in flight at a worker that died, or past MaxDeliver."""

Parts = dict[int, list["Delivery"]]


def positions(sub: str) -> str:
    """Namespace of a subscriber's per-partition positions."""
    return f"bus.pos:{sub}"


def delivered_counts(sub: str) -> str:
    """Namespace of per-partition delivered counts, folded into the subscriber's stats by the leader
    (one shared counter written by every worker's transactions would make them clash)."""
    return f"bus.delivered:{sub}"


def folded_counts(sub: str) -> str:
    """Namespace of how much of each partition's delivered count the leader has folded into the stats
    (kept apart, so the partition's owner is the only writer of its count)."""
    return f"bus.folded:{sub}"


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

    def fetch(self, wanted: Sequence[tuple[int, RetryPolicy]], batch: int,
              wait: float) -> dict[int, list[Msg]]: ...

    def ack(self, messages: Sequence[Msg]) -> None: ...

    def undelivered(self, partition: int) -> int: ...


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
        self._suspects: dict[int, tuple[int, float]] = {}
        self._carry: Parts = {}
        # one consumer per partition serves every subscriber: it redelivers as often as the most
        # patient of them allows; each gives up at its own max_attempts
        self.consumer_policy = max((self.policy(s.name) for s in self.subscribers),
                                   key=lambda p: p.max_attempts, default=self.policy(""))

    def step(self) -> int:
        """Fetch from every leased partition, deliver, ack; then (the leader) due retries."""
        work = 0
        owned = sorted(self.leases.owned())
        if owned and self.subscribers:
            # about batch_size entries per round, however many partitions
            fetched = self.bus.fetch([(k, self.consumer_policy) for k in owned],
                                     max(10, self._batch // len(owned)), self._wait)
            carried, self._carry = self._carry, {}
            parts = {k: sorted([*carried.get(k, []), *map(decode, fetched.get(k, []))],
                               key=lambda d: d.seq) for k in owned}
            behind = self._behind([k for k in owned if not parts[k]])
            work += self._catch_up(behind, parts)
            work += self.deliver({k: v for k, v in parts.items() if v})
            self._remember(behind)
        if self.leases.leader:
            work += sum(self.retry_due(s) for s in self.subscribers)
            if not work:
                self._watermark()
        return work

    # -- taking a round --------------------------------------------------------------------------

    def deliver(self, parts: Parts) -> int:
        """Take the deliveries of some partitions for every subscriber in one transaction (redone
        per subscriber, and per entry, after a handler failure), then acknowledge their messages.
        Returns how many deliveries were looked at."""
        for attempt in range(CONFLICT_RETRIES + 1):
            parts = {k: v for k, v in parts.items() if k in self.leases.owned()}
            if not parts:
                return 0
            try:
                self._round_tx(self.subscribers, parts)
                break
            except LeaseLost:
                continue  # drop that partition's batch: its new owner reads on from the position
            except StorageUnavailable as exc:
                if not is_conflict(exc) or attempt == CONFLICT_RETRIES:
                    self._carry.update(parts)  # PostgreSQL away, or busy: keep them for the next round
                    raise
                time.sleep(random.uniform(0, 0.02 * attempt))  # apart from the other worker
            except ConfigurationError:
                raise
            except Exception:  # a handler failed: redo subscriber by subscriber below
                parts = self._by_subscriber(parts)
                break
        else:
            return 0  # nothing committed: leave the messages unacknowledged
        self.bus.ack([d.msg for ds in parts.values() for d in ds if d.msg is not None])
        return sum(len(v) for v in parts.values())

    def _round_tx(self, subs: Sequence[Subscriber], parts: Parts) -> None:
        with self.state.transaction() as tx:
            self._prefetch(tx, subs, parts)
            for k in parts:
                self.leases.check(tx, k)
            for sub in subs:
                held = bool(tx.scan(books.heads(sub.name), limit=1))
                for k, deliveries in parts.items():
                    start = pos = int(tx.get(positions(sub.name), lease_key(k)) or 0)
                    taken = 0
                    for entry, delivered in self._chain(k, pos, deliveries):
                        taken += self._apply(sub, entry, tx, held, delivered)
                        pos = entry.seq
                    if pos != start:
                        tx.put(positions(sub.name), lease_key(k), pos)
                    count_delivered(tx, sub.name, k, taken)

    def _prefetch(self, tx: StateTx, subs: Sequence[Subscriber], parts: Parts) -> None:
        """The fences, positions, counts and what the subscribers say they will read, in one go."""
        entries = [d.entry for ds in parts.values() for d in ds]
        keys = [(self.leases.fences, lease_key(k)) for k in parts]
        keys += [(ns, lease_key(k)) for s in subs for k in parts
                 for ns in (positions(s.name), delivered_counts(s.name))]
        prefetch(tx, chain(keys, *(reads_of(s, entries) for s in subs)))

    def _by_subscriber(self, parts: Parts) -> Parts:
        """The round again, one subscriber per transaction (the failing one entry by entry); returns
        the partitions still held, whose messages are now taken."""
        for sub in self.subscribers:
            while parts := {k: v for k, v in parts.items() if k in self.leases.owned()}:
                try:
                    self._round_tx([sub], parts)
                except LeaseLost:
                    continue  # without that partition: its new owner reads on from the position
                except (StorageUnavailable, ConfigurationError):
                    self._carry.update(parts)
                    raise
                except Exception:  # a handler failed: one entry per transaction
                    self._singly(sub, parts)
                break
        return parts

    def _singly(self, sub: Subscriber, parts: Parts) -> None:
        for k, deliveries in parts.items():
            with self.reader.transaction() as tx:
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

    # -- gaps: JetStream silent while the relay is ahead -----------------------------------------

    def _behind(self, idle: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(lowest position, last relayed seq) of each partition that JetStream returned nothing for
        although the relay has published past the position: its next messages are in flight at a
        worker that died (until JetStream's ack wait runs out), so they are read from the journal."""
        if not idle:
            return {}
        with self.reader.transaction() as tx:
            relayed = tx.get(RELAY, self.url.prefix)
            if relayed is None:
                return {}
            at = [dict(tx.scan(positions(s.name))) for s in self.subscribers]
        out: dict[int, tuple[int, int]] = {}
        for k in idle:
            pos, upto = min(int(p.get(lease_key(k)) or 0) for p in at), int(relayed["prev"][k])
            if upto > pos:
                out[k] = (pos, upto)
        return out

    def _catch_up(self, behind: dict[int, tuple[int, int]], parts: Parts) -> int:
        """Fill in from the journal the partitions JetStream has been silent on for GAP_GRACE while
        the relay is ahead; returns 1 while still giving JetStream time (so the loop looks again)."""
        waiting = 0
        now = time.monotonic()  # real time on purpose: how long JetStream has been silent
        for k, (pos, upto) in behind.items():
            pos_then, since = self._suspects.get(k, (-1, now))
            if pos_then == pos and now - since >= GAP_GRACE and not self.bus.undelivered(k):
                parts[k] = self._tail(k, pos, upto)  # JetStream has nothing more to give now
            else:
                waiting = 1
        return waiting

    def _remember(self, behind: dict[int, tuple[int, int]]) -> None:
        """Since when each lagging partition has been at its position."""
        now, kept = time.monotonic(), {}
        for k, (pos, _) in behind.items():
            old = self._suspects.get(k)
            kept[k] = old if old is not None and old[0] == pos else (pos, now)
        self._suspects = kept

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

    # -- the leader, when idle -------------------------------------------------------------------

    def _watermark(self) -> None:
        """When idle: fold the partitions' delivered counts into the subscribers' stats, and set each
        subscriber's journal cursor (what status pages and queries read) to the relay's position
        once every partition has taken all that was relayed: nothing at or below it waits."""
        try:
            with self.state.transaction() as tx:
                relayed = tx.get(RELAY, self.url.prefix)
                if relayed is None:
                    return
                for sub in self.subscribers:
                    self._fold(tx, sub.name)
                    at = {k: int(v) for k, v in tx.scan(positions(sub.name))}
                    caught_up = all(at.get(lease_key(k), 0) >= int(p) for k, p in enumerate(relayed["prev"]))
                    if caught_up and books.cursor(tx, sub.name) < int(relayed["seq"]):
                        tx.put(books.CURSOR, sub.name, int(relayed["seq"]))
        except StorageUnavailable as exc:
            if not is_conflict(exc):
                raise  # a clash: the next idle round does it

    @staticmethod
    def _fold(tx: StateTx, sub: str) -> None:
        """Add to the subscriber's delivered count what the partitions counted since the last fold."""
        done = dict(tx.scan(folded_counts(sub)))
        fresh = {k: int(v) - int(done.get(k, 0)) for k, v in tx.scan(delivered_counts(sub))}
        for k, n in fresh.items():
            if n:
                tx.add(folded_counts(sub), k, n)
        if sum(fresh.values()):
            books.count(tx, sub, "delivered", sum(fresh.values()))


def state_positions(state: StateStore, subscribers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every subscriber's per-partition positions (status pages, tests)."""
    with state.transaction() as tx:
        return {s: dict(tx.scan(positions(s))) for s in subscribers}


__all__ = ["BusDispatcher", "Delivery", "decode", "is_conflict", "last_by_key", "positions",
           "state_positions"]
