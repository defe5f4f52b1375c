"""The outbox relay: journal entries to JetStream, in journal order, with no dual writes.

Ingest writes only the journal (one transaction, acknowledged with 202 after commit). Because seqs
are dense and commit-ordered, the journal itself is the outbox: the relay reads ``read(after)``
from its cursor, publishes each entry with ``Nats-Msg-Id = source/id``, waits for every PubAck,
and only then moves its cursor (kept in the state store with, per partition, the seq of the last
entry published there; that gives each message its ``Pw-Prev`` link). A crash between publish
and cursor move republishes the same entries with the same links; JetStream's duplicate window
drops them, and past the window consumers skip them by position.

Only the leader (holder of partition 0) relays; the cursor is compared in the transaction that
moves it, so a second relay during a lease handover cannot move it backwards or skip entries.

Speed. A journal that can hand out its rows as stored (``read_outbox``: PostgreSQL) is relayed
without rebuilding envelopes: the stored canonical body is the message. Several batches are in
flight at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from plantwire.bus.nats import BusUrl, Outgoing
from plantwire.envelope import OutboxRow
from plantwire.ports import Journal, StateStore

RELAY = "bus.relay"
WINDOW = 4
"""Batches published and not yet settled at a time (JetStream keeps them in the order started)."""


@runtime_checkable
class OutboxReader(Protocol):
    """A journal that reads entries as stored, for relaying (``PostgresJournal``)."""

    def read_outbox(self, after: int, limit: int) -> tuple[Sequence[OutboxRow], int]: ...


def outgoing(url: BusUrl, entries: Sequence[OutboxRow],
             prev: list[int]) -> tuple[list[Outgoing], list[int]]:
    """The messages for some entries, linked per partition; and the links after them. Pure."""
    links = list(prev)
    out: list[Outgoing] = []
    subjects: dict[tuple[str, str], tuple[int, str]] = {}
    for e in entries:
        plant = e.plant or "_"
        k = url.partition_for(plant, e.key)
        subject = subjects.get((plant, e.type))
        if subject is None or subject[0] != k:  # by plant (the default) a plant's k never changes
            subject = subjects[(plant, e.type)] = (k, url.subject(plant, e.type, k))
        out.append(Outgoing(
            subject[1], e.body,
            {"Nats-Msg-Id": f"{e.source}/{e.event_id}", "Pw-Seq": str(e.seq),
             "Pw-Prev": str(links[k]), "Pw-At": repr(e.recorded_at)}))
        links[k] = e.seq
    return out, links


class Publisher(Protocol):
    """What the relay needs from the bus: start publishing; the call returned waits for the acks."""

    def publish_start(self, messages: Sequence[Outgoing]) -> Callable[[], int]: ...


class JournalRelay:
    """Moves journal entries to JetStream; `step` relays what is new when this worker leads."""

    def __init__(self, journal: Journal, state: StateStore, bus: Publisher, url: BusUrl,
                 is_leader: Callable[[], bool], batch_size: int = 2000, rounds: int = 8) -> None:
        self.journal, self.state, self.bus, self.url = journal, state, bus, url
        self._is_leader, self._batch, self._rounds = is_leader, batch_size, rounds
        self._outbox = journal if isinstance(journal, OutboxReader) else None
        self.published = 0

    def cursor(self) -> dict[str, Any]:
        """The relay's position: last seq published and the per-partition links."""
        with self.state.transaction() as tx:
            return self._cursor(tx.get(RELAY, self.url.prefix))

    def _cursor(self, raw: Any) -> dict[str, Any]:
        if raw is None:
            return {"seq": 0, "prev": [0] * self.url.partitions}
        return {"seq": int(raw["seq"]), "prev": [int(p) for p in raw["prev"]]}

    def step(self) -> int:
        """Relay up to `rounds` batches after the cursor, reading and encoding the next batches while
        JetStream acknowledges earlier ones (up to WINDOW batches in flight); the cursor moves batch
        by batch, each once all its acks are in. Returns how many entries were relayed (1 when only
        skipped rows were read)."""
        if not self._is_leader():
            return 0
        cursor = self.cursor()
        start, done = cursor["seq"], 0
        in_flight: deque[tuple[Callable[[], int], dict[str, Any], int]] = deque()
        for _ in range(self._rounds):
            entries, last = self._read(cursor["seq"])
            if last == cursor["seq"]:
                break
            messages, links = outgoing(self.url, entries, cursor["prev"])
            cursor = {"seq": last, "prev": links}
            in_flight.append((self.bus.publish_start(messages), cursor, len(messages)))
            if len(in_flight) >= WINDOW:
                done += self._settle(*in_flight.popleft())
        while in_flight:
            done += self._settle(*in_flight.popleft())
        return max(done, int(cursor["seq"] != start))

    def _read(self, after: int) -> tuple[Sequence[OutboxRow], int]:
        if self._outbox is not None:
            return self._outbox.read_outbox(after, self._batch)
        entries, last = self.journal.read(after, self._batch)
        return [OutboxRow.of(e) for e in entries], last

    def _settle(self, wait: Callable[[], int], cursor: dict[str, Any], count: int) -> int:
        """Wait for a batch's acks, then move the cursor past it (unless another relay moved it)."""
        wait()
        with self.state.transaction() as tx:
            if self._cursor(tx.get(RELAY, self.url.prefix))["seq"] >= cursor["seq"]:
                return 0
            tx.put(RELAY, self.url.prefix, cursor)
        self.published += count
        return count


__all__ = ["RELAY", "JournalRelay", "OutboxReader", "outgoing"]
