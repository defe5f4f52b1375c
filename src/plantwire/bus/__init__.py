"""The distributed bus: the journal relayed to NATS JetStream and delivered by many workers.

- ``nats``: the JetStream client (streams, subjects, consumers, retry policy mapping).
- ``relay``: the journal is the outbox; the leader publishes it in order (no dual writes).
- ``keys``: hash partitions with one leased owner each: per-key order across workers.
- ``consumer``: the worker-side Dispatcher: effects and positions in one transaction, ack after.

`distributed_delivery` wires them for bootstrap; nothing here connects at import time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from plantwire.bus.consumer import BusDispatcher
from plantwire.bus.keys import PartitionLeases
from plantwire.bus.nats import BusUrl, JetStreamBus, is_nats_url
from plantwire.bus.relay import JournalRelay
from plantwire.errors import StorageUnavailable
from plantwire.ports import Clock, Journal, StateStore, Subscriber
from plantwire.service.retry import RetryPolicy


@dataclass
class BusDelivery:
    """The pieces a worker runs on the distributed bus."""

    url: BusUrl
    bus: JetStreamBus
    leases: PartitionLeases
    relay: JournalRelay
    dispatcher: BusDispatcher

    @property
    def steppers(self) -> list[BusDispatcher | JournalRelay | PartitionLeases]:
        """In loop order: leases first (ownership), then relay, then delivery."""
        return [self.leases, self.relay, self.dispatcher]

    def close(self) -> None:
        """Give the leases back (others take over at once) and close the connection."""
        try:
            with contextlib.suppress(StorageUnavailable):  # unreachable: the leases lapse by themselves
                self.leases.leave()
        finally:
            self.bus.close()


def distributed_delivery(bus_url: str, journal: Journal, state: StateStore,
                         subscribers: Sequence[Subscriber], clock: Clock, policy: RetryPolicy,
                         policies: Mapping[str, RetryPolicy] | None = None,
                         batch_size: int = 500, wait: float = 0.2, member: str | None = None,
                         heartbeat: bool = True) -> BusDelivery:
    """Build (without connecting) the relay, leases and dispatcher for a nats:// bus URL; with
    `heartbeat`, leases are renewed from a thread of their own (off: from `step`, for manual clocks)."""
    url = BusUrl.parse(bus_url)
    bus = JetStreamBus(url)
    leases = PartitionLeases(state, clock, url.partitions, url.prefix, member=member,
                              heartbeat=heartbeat)
    relay = JournalRelay(journal, state, bus, url, lambda: leases.leader)
    dispatcher = BusDispatcher(journal, state, subscribers, clock, bus, url, leases, policies,
                               default_policy=policy, batch_size=batch_size, wait=wait)
    return BusDelivery(url, bus, leases, relay, dispatcher)


__all__ = ["BusDelivery", "BusUrl", "distributed_delivery", "is_nats_url"]
