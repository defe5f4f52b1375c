"""Per-key order across workers: hash partitions, one lease holder per partition, fenced writes.

Choice. Every entry maps to one of N partitions (``crc32(plant) % N`` by default, or
``crc32(business key) % N`` with ``partition_by=key``; stable across processes and releases), and
the relay publishes each partition's entries in journal order. By plant is the default because a
plant's projections rely on order across keys (a goods receipt, keyed by PO, before the consumption
of that stock, keyed by production order); per-key order follows from either.
Each partition has one owner at a time: a lease row in the state store (PostgreSQL), which
workers renew, share out fairly (``ceil(N / live workers)`` each) and take over when it lapses.
Only the owner pulls the partition's durable consumers, so a key is processed by one worker at a
time, in order.

Why not a per-key advisory lock: that takes a lock per event (or per batch, per distinct key)
and still needs JetStream to hand a key's events to the process holding its lock; with many keys
and three workers most batches would contend. Partitions cost one lease row per partition, renewed
once a second, and keep every batch local to one worker. JetStream consumer groups alone (many
workers pulling one durable) would give no order at all: messages are spread round-robin.

Proof that a lapsed lease cannot break order or apply twice. Each delivery transaction reads the
partition's fence (the lease's owner and epoch, a row of its own that renewals leave alone) and
fails (``LeaseLost``) unless this worker still holds it with the epoch it claimed, and it reads and
writes the subscriber's position for the partition. State transactions are SERIALIZABLE, so the
old owner's last batch and the new owner's first batch cannot both commit from the same position;
and the new owner only claims after the lease row says so. Positions only move along the
partition's chain (see ``consumer``), so whoever commits continues exactly where the last commit
ended. ``tests/distributed`` races two workers over one partition set and checks both.

The owner of partition 0 is the leader: it also runs the journal relay and the retries of held keys.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import uuid
from typing import Any

import structlog

from plantwire.errors import StorageUnavailable
from plantwire.ports import Clock, StateStore, StateTx

log = structlog.get_logger("plantwire.bus")
ROUND_TRIES = 5


class LeaseLost(StorageUnavailable):
    """This worker no longer owns the partition: drop its batch; someone else continues."""


def lease_key(partition: int) -> str:
    """Key of a partition's lease row."""
    return f"p{partition:04d}"


def fair_share(partitions: int, members: int) -> int:
    """How many partitions one of `members` live workers may hold."""
    return math.ceil(partitions / max(1, members))


def plan_leases(me: str, now: float, partitions: int, live: int,
                leases: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The lease rows this worker writes: renew what it keeps, release extras, claim lapsed ones.

    Pure, so the rules are tested without a database: a row is `{owner, epoch, until}`; a claim
    bumps the epoch; a release sets owner None and keeps the epoch.
    """
    share = fair_share(partitions, live)
    mine = sorted(k for k, v in leases.items() if v.get("owner") == me)
    writes: dict[int, dict[str, Any]] = {}
    for k in mine[share:]:
        writes[k] = {**leases[k], "owner": None, "until": 0.0}
    kept = mine[:share]
    free = [k for k in range(partitions) if k not in mine
            and (k not in leases or leases[k].get("owner") is None or leases[k]["until"] <= now)]
    for k in free[: max(0, share - len(kept))]:
        writes[k] = {"owner": me, "epoch": int(leases.get(k, {}).get("epoch", 0)) + 1}
        kept.append(k)
    for k in kept:
        if k not in writes:
            writes[k] = dict(leases[k])
    return writes


class PartitionLeases:
    """This worker's membership and partition leases, renewed from the delivery loop (`step`)."""

    def __init__(self, state: StateStore, clock: Clock, partitions: int, namespace: str,
                 ttl: float = 3.0, renew_every: float = 1.0, member: str | None = None,
                 heartbeat: bool = False) -> None:
        self.state, self.clock, self.partitions = state, clock, partitions
        self.member = member or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        # apart in key order from what delivery writes (bus.*, projections): PostgreSQL's SERIALIZABLE
        # tracks reads by index page, and neighbours would make renewals and batches clash
        self._members, self._leases = f"members:{namespace}", f"leases:{namespace}"
        # owner and epoch only, written when they change: what a delivery batch checks (the lease
        # row itself is rewritten every renewal, and a batch that read it would have to start over)
        self.fences = f"leases.fence:{namespace}"
        self._ttl, self._every = ttl, renew_every
        self._owned: dict[int, int] = {}
        self._next = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.heartbeat = heartbeat

    def owned(self) -> dict[int, int]:
        """Partitions held now, with the epoch each was claimed at."""
        return dict(self._owned)

    @property
    def leader(self) -> bool:
        """Whether this worker holds partition 0 (runs the relay and the retries)."""
        return 0 in self._owned

    def start(self) -> None:
        """Renew from a thread of its own, so a long delivery round cannot let the leases lapse
        (without it, `step` renews from the delivery loop: tests with a manual clock)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="leases", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.is_set():
            self._renew()
            self._stop.wait(self._every)

    def step(self) -> int:
        """Renew when due, or start the heartbeat thread on the first round when asked for (so only
        a process that runs delivery ever holds leases); never counts as work."""
        if self.heartbeat and self._thread is None:
            self._renew()
            self.start()
        elif self._thread is None and self.clock.now() >= self._next:
            self._renew()
        return 0

    def _renew(self) -> None:
        """A round, tried again at once on a clash with another transaction."""
        for attempt in range(1, ROUND_TRIES + 1):
            try:
                self.rebalance()
                break
            except StorageUnavailable as exc:
                if attempt == ROUND_TRIES:
                    log.info("lease round failed", error=str(exc), tries=attempt)
        self._next = self.clock.now() + self._every

    def rebalance(self) -> dict[int, int]:
        """One round: heartbeat, then renew, release and claim to the fair share."""
        now = self.clock.now()
        with self.state.transaction() as tx:
            tx.put(self._members, self.member, now + self._ttl)
            live = sum(1 for _, until in tx.scan(self._members) if float(until) > now)
            leases = {int(k[1:]): v for k, v in tx.scan(self._leases)}
            fences = dict(tx.scan(self.fences))
            writes = plan_leases(self.member, now, self.partitions, live, leases)
            owned: dict[int, int] = {}
            for k, row in writes.items():
                if row["owner"] == self.member:
                    row["until"] = now + self._ttl
                    owned[k] = int(row["epoch"])
                tx.put(self._leases, lease_key(k), row)
                fence = {"owner": row["owner"], "epoch": row["epoch"]}
                if fences.get(lease_key(k)) != fence:
                    tx.put(self.fences, lease_key(k), fence)
        gained, lost = owned.keys() - self._owned.keys(), self._owned.keys() - owned.keys()
        if gained or lost:
            log.info("partitions moved", member=self.member, gained=sorted(gained), lost=sorted(lost))
        self._owned = owned
        return dict(owned)

    def check(self, tx: StateTx, partition: int) -> None:
        """Fence: fail the transaction unless this worker still holds the partition's lease."""
        epoch = self._owned.get(partition)
        row = tx.get(self.fences, lease_key(partition))
        if epoch is None or row is None or row.get("owner") != self.member or row.get("epoch") != epoch:
            self._owned.pop(partition, None)
            raise LeaseLost(f"partition {partition} is no longer held by {self.member}")

    def leave(self) -> None:
        """Give every lease back at once (a clean stop), so others take over without waiting."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with self.state.transaction() as tx:
            tx.delete(self._members, self.member)
            for k in self._owned:
                row = tx.get(self._leases, lease_key(k))
                if row is not None and row.get("owner") == self.member:
                    tx.put(self._leases, lease_key(k), {**row, "owner": None, "until": 0.0})
                    tx.put(self.fences, lease_key(k), {"owner": None, "epoch": row.get("epoch")})
        self._owned = {}


__all__ = ["LeaseLost", "PartitionLeases", "fair_share", "lease_key", "plan_leases"]
