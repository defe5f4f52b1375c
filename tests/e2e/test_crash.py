"""SIGKILL the hub twice while eight sources send ~20,000 events; nothing is lost or doubled.

A real `plantwire serve` takes one plant's long day (plant_day with enough orders) from eight
concurrent sender threads, each sending its orders' events in business order as a mix of
batches (1..500 events) and single events (structured and binary mode). While they send, the
test SIGKILLs the server at a random point of progress, restarts it on the same data directory
and port, and does it again. Like a real source, a sender resends every request that did not
get a 202, including requests that died with a connection error (whose fate it cannot know).

Afterwards, once delivery has drained:

- the journal holds every identity sent exactly once: rows per (source, id) counted in
  journal.db with sqlite3, and journal head == row count == distinct identities sent;
- every 202 receipt was durable: the seq it reported is the seq the identity has in the journal
  after both crashes (a lost acknowledged append would show up as a missing row or a new seq);
- every subscriber took effect exactly once per event: every value in tally.events is 1, there
  is one per journaled identity, and the tally subscriber's own "delivered" count equals the head;
- the inventory projection equals balances computed here independently from the events sent,
  leaving out only the events deliberately sent to consume stock that was never received, which
  are exactly the open dead letters (BusinessRuleViolation, subscriber inventory, one attempt).

Each sender keeps its own orders in business order (a request is resent until it gets a 202
before the next is sent), so no real event can run short of stock: any other dead letter would
mean an effect was lost, doubled or delivered out of order. A SIGKILL tests process crashes,
not power cuts: the OS keeps what was written before the kill either way.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from plantwire.simulators.scenario import event, plant_day, qty

from .hubs import (
    Event,
    HubProcess,
    Identity,
    as_batch,
    as_binary,
    as_structured,
    identity,
    stock_deltas,
)

SENDERS = 8
ORDERS = 2140  # about 9.4 events per order: ~20,000 events
BAD_CONSUMPTIONS = 12
PLANT = "1000"


def orders_of(events: list[Event]) -> list[list[Event]]:
    """Split plant_day's stream into its orders (each starts with its PO approval)."""
    orders: list[list[Event]] = []
    for ev in events:
        if ev["type"] == "procurement.po.approved" or not orders:
            orders.append([])
        orders[-1].append(ev)
    return orders


def bad_consumption(n: int) -> Event:
    """A consumption of a component that was never received: refused for insufficient stock."""
    order_id = f"9{n:06d}"
    data = {"order_id": order_id, "plant": PLANT, "consumption_id": f"{order_id}-1",
            "item_id": f"RM-NEVER-RECEIVED-{n % 3}", "quantity": qty(5 + n),
            "storage_location": "RM01", "consumed_at": "2026-11-27T09:00:00+00:00"}
    return event(f"mes/plant-{PLANT}", f"CONS-{order_id}-1", "production.component.consumed",
                 data, datetime(2026, 11, 27, 9, tzinfo=UTC), PLANT)


@dataclass
class Figures:
    """What the senders saw, shared between threads under a lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: threading.Condition = field(init=False)
    acked_events: int = 0
    requests: int = 0
    resent_requests: int = 0
    resent_events: int = 0
    resend_attempts: int = 0
    lag_at_kill: list[dict[str, int]] = field(default_factory=list)
    connection_errors: int = 0
    duplicate_receipts: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    acked_seq: dict[Identity, int] = field(default_factory=dict)
    seq_mismatch: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.progress = threading.Condition(self.lock)


def plan_requests(rng: random.Random, events: list[Event]) -> list[tuple[str, list[Event]]]:
    """Cut a sender's events, in order, into single events and batches of 2..500."""
    out: list[tuple[str, list[Event]]] = []
    i = 0
    while i < len(events):
        roll = rng.random()
        if roll < 0.5:
            size, mode = 1, rng.choice(["structured", "binary", "batch"])
        elif roll < 0.8:
            size, mode = rng.randint(2, 50), "batch"
        else:
            size, mode = rng.randint(51, 500), "batch"
        out.append((mode, events[i:i + size]))
        i += size
    return out


ENCODERS: dict[str, Callable[[Any], tuple[dict[str, str], bytes]]] = {
    "structured": lambda evs: as_structured(evs[0]),
    "binary": lambda evs: as_binary(evs[0]),
    "batch": as_batch,
}


def send_all(hub: HubProcess, requests: list[tuple[str, list[Event]]], figs: Figures,
             rng: random.Random, abort: threading.Event) -> None:
    """Send each request until it gets a 202; the next one only after that (business order)."""
    client = hub.client(timeout=30.0)
    try:
        for mode, evs in requests:
            headers, body = ENCODERS[mode](evs)
            attempt = 0
            while not abort.is_set():
                if attempt:
                    with figs.lock:
                        figs.resend_attempts += 1
                        if attempt == 1:
                            figs.resent_requests += 1
                            figs.resent_events += len(evs)
                attempt += 1
                try:
                    response = client.post("/v1/events", content=body, headers=headers)
                except httpx.TransportError:
                    with figs.lock:
                        figs.connection_errors += 1
                    time.sleep(rng.uniform(0.05, 0.2))  # a source's backoff, not an assertion
                    client.close()
                    client = hub.client(timeout=30.0)
                    continue
                with figs.lock:
                    figs.requests += 1
                    figs.statuses[response.status_code] += 1
                if response.status_code == 202:
                    record_receipt(figs, evs, response.json())
                    break
                if response.status_code == 503:
                    time.sleep(rng.uniform(0.05, 0.2))
                    continue
                with figs.lock:
                    figs.unexpected.append(f"{response.status_code}: {response.text[:300]}")
                break
    finally:
        client.close()


def record_receipt(figs: Figures, evs: list[Event], receipt: dict[str, Any]) -> None:
    results = receipt["results"]
    with figs.lock:
        if len(results) != len(evs):
            figs.unexpected.append(f"receipt has {len(results)} results for {len(evs)} events")
        for ev, res in zip(evs, results, strict=False):
            ident = identity(ev)
            if (res["source"], res["id"]) != ident or res["status"] not in ("accepted", "duplicate"):
                figs.unexpected.append(f"bad result for {ident}: {res}")
                continue
            figs.duplicate_receipts += res["status"] == "duplicate"
            earlier = figs.acked_seq.setdefault(ident, res["seq"])
            if earlier != res["seq"]:
                figs.seq_mismatch.append(f"{ident}: receipts said #{earlier} and #{res['seq']}")
        figs.acked_events += len(evs)
        figs.progress.notify_all()


def killer(hub: HubProcess, figs: Figures, total: int, rng: random.Random,
           senders_done: threading.Event, kills: list[float], abort: threading.Event) -> None:
    """SIGKILL the hub at two random points of progress; restart it on the same data dir."""
    try:
        kill_twice(hub, figs, total, rng, senders_done, kills)
    except BaseException as exc:  # the senders must not wait forever for a hub that won't start
        with figs.lock:
            figs.unexpected.append(f"restart failed: {exc!r}")
        abort.set()


def kill_twice(hub: HubProcess, figs: Figures, total: int, rng: random.Random,
               senders_done: threading.Event, kills: list[float]) -> None:
    for low, high in ((0.15, 0.40), (0.55, 0.80)):
        target = int(total * rng.uniform(low, high))
        with figs.lock:
            while figs.acked_events < target and not senders_done.is_set():
                figs.progress.wait(0.5)
            at = figs.acked_events
        if senders_done.is_set():
            return
        time.sleep(rng.uniform(0.0, 0.05))
        figs.lag_at_kill.append(lags(hub))
        hub.kill()
        kills.append(at / total)
        hub.start()


def lags(hub: HubProcess) -> dict[str, int]:
    """Each subscriber's lag just before a kill (so the figures show delivery was cut too)."""
    try:
        with hub.client(timeout=2.0) as client:
            subs = client.get("/v1/status").json()["subscribers"]
        return {name: s["lag"] for name, s in subs.items()}
    except httpx.HTTPError:
        return {}


@pytest.mark.slow
def test_sigkill_twice_while_sending(running_hub: HubProcess) -> None:  # noqa: C901
    hub = running_hub
    seed = int(os.environ.get("PLANTWIRE_E2E_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    orders = orders_of(list(plant_day(PLANT, orders=ORDERS, seed=11)))
    bad = [bad_consumption(n) for n in range(BAD_CONSUMPTIONS)]
    per_sender: list[list[Event]] = [[] for _ in range(SENDERS)]
    for n, order in enumerate(orders):
        per_sender[n % SENDERS].extend(order)
    for ev in bad:
        lane = per_sender[rng.randrange(SENDERS)]
        lane.insert(rng.randrange(len(lane) + 1), ev)
    sent = [ev for lane in per_sender for ev in lane]
    idents = {identity(ev) for ev in sent}
    assert len(idents) == len(sent), "plant_day identities must be unique"
    plans = [plan_requests(random.Random(rng.random()), lane) for lane in per_sender]

    figs = Figures()
    kills: list[float] = []
    senders_done, abort = threading.Event(), threading.Event()
    started = time.monotonic()
    threads = [threading.Thread(target=send_all, args=(hub, plan, figs, random.Random(i), abort),
                                name=f"sender-{i}") for i, plan in enumerate(plans)]
    chaos = threading.Thread(target=killer,
                             args=(hub, figs, len(sent), rng, senders_done, kills, abort))
    chaos.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, started + 180 - time.monotonic()))
    abort.set()  # a sender still going after 3 minutes is stuck; stop it and fail below
    senders_done.set()
    chaos.join(timeout=60)
    sent_seconds = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "a sender hung"
    assert hub.alive, f"hub is down after the test's restarts:\n{hub.log_tail()}"

    status = hub.wait_drained(timeout=60)
    total_seconds = time.monotonic() - started
    print(f"\ncrash test (seed {seed}): {len(sent)} events in {sum(map(len, plans))} requests "
          f"from {SENDERS} senders; kills at {[f'{k:.0%}' for k in kills]} of progress; "
          f"subscriber lag at the kills {figs.lag_at_kill}; {figs.connection_errors} connection "
          f"errors; {figs.resent_requests} requests ({figs.resent_events} events) resent in "
          f"{figs.resend_attempts} attempts, {figs.duplicate_receipts} duplicate receipts; "
          f"statuses {dict(figs.statuses)}; sent in {sent_seconds:.1f}s, drained at "
          f"{total_seconds:.1f}s")

    assert not figs.unexpected, figs.unexpected[:10]
    assert not figs.seq_mismatch, figs.seq_mismatch[:10]
    assert len(kills) == 2, f"expected two kills while sending, got {kills}"
    assert hub.starts == 3
    assert not [s for s in figs.statuses if s >= 500 and s != 503], figs.statuses
    assert set(figs.acked_seq) == idents, "every event must end with a 202"

    # The journal: each identity exactly once, and at the seq its receipt named.
    rows = hub.journal_rows()
    per_identity = Counter((source, event_id) for _, source, event_id, _, _ in rows)
    assert [i for i, n in per_identity.items() if n != 1] == []
    assert set(per_identity) == idents
    assert len(rows) == status["journal_head"] == len(idents)
    assert rows[-1][0] == len(idents), "journal seqs must have no gaps"
    seq_of = {(source, event_id): seq for seq, source, event_id, _, _ in rows}
    moved = [(i, figs.acked_seq[i], seq_of[i]) for i in idents if figs.acked_seq[i] != seq_of[i]]
    assert moved == [], f"acknowledged appends changed seq after a crash: {moved[:10]}"

    # Dead letters: exactly the deliberately short consumptions, nothing else.
    with hub.client() as client:
        letters = client.get("/v1/dead-letters", params={"status": "all"}).json()["dead_letters"]
        on_hand = client.get("/v1/inventory").json()["on_hand"]
    assert {(d["source"], d["event_id"]) for d in letters} == {identity(ev) for ev in bad}
    for d in letters:
        assert d["subscriber"] == "inventory" and d["status"] == "open", d
        assert d["error_class"].endswith("BusinessRuleViolation"), d
        assert d["attempts"] == 1 and d["blocking"] == 0, d
    inv, tally = status["subscribers"]["inventory"], status["subscribers"]["tally"]
    assert inv["dead"] == BAD_CONSUMPTIONS and inv["blocked"] == 0 and inv["retrying"] == 0
    assert tally["delivered"] == len(idents) and tally["dead"] == 0

    # Inventory equals what the sent events say, computed here, without the refused ones.
    expected: dict[str, Decimal] = Counter()  # type: ignore[assignment]
    bad_ids = {identity(ev) for ev in bad}
    inventory_events = 0
    for ev in sent:
        changes = stock_deltas(ev)
        inventory_events += bool(changes)
        if identity(ev) in bad_ids:
            continue
        for key, delta in changes:
            expected[key] = expected.get(key, Decimal(0)) + delta
    want = {k: v for k, v in expected.items() if v != 0}
    got = {k: Decimal(v) for k, v in on_hand.items()}
    assert got == want
    assert inv["delivered"] == inventory_events - BAD_CONSUMPTIONS

    # Effects exactly once: tally.events read from the state store after a clean stop.
    hub.stop()
    tally_counts = hub.tally()
    assert set(tally_counts) == idents
    assert {k: v for k, v in tally_counts.items() if v != 1} == {}
    print(f"journal {len(rows)} rows = {len(idents)} identities; tally {len(tally_counts)} x 1; "
          f"{len(want)} stock buckets match; {len(letters)} dead letters, all deliberate")
