"""A bus-backed stand-in for the Dispatcher in tests: leases, relay and consumer stepped together."""

from __future__ import annotations

from collections.abc import Sequence

from plantwire.bus import BusDelivery, distributed_delivery
from plantwire.ports import Clock, Journal, StateStore, Subscriber
from plantwire.service.retry import RetryPolicy


class BusHarness:
    """One "worker process": `step` renews leases, relays and delivers; `drain` until idle."""

    def __init__(self, url: str, journal: Journal, state: StateStore, subs: Sequence[Subscriber],
                 clock: Clock, policy: RetryPolicy, batch_size: int = 500, member: str | None = None,
                 heartbeat: bool = False) -> None:
        self.delivery: BusDelivery = distributed_delivery(
            url, journal, state, subs, clock, policy, batch_size=batch_size, wait=0.05, member=member,
            heartbeat=heartbeat)
        self.dispatcher = self.delivery.dispatcher
        self.closed = False

    def step(self) -> int:
        return sum(s.step() for s in self.delivery.steppers)

    def drain(self, max_rounds: int = 10_000) -> None:
        for _ in range(max_rounds):
            if not self.step():
                return

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.delivery.close()
