"""Flow throughput and completion-to-ATP latency, with the four simulators at zero latency.

    .venv/bin/python benchmarks/flows.py            # full: 3000-event burst, 20 s at 500 events/s
    .venv/bin/python benchmarks/flows.py --quick    # < 60 s: 600-event burst, 6 s at 500 events/s

Setup: four simulators and `plantwire serve --erp .. --mes .. --wms .. --supplier ..` on 127.0.0.1
(`plantwire.cli.demo.Stack`), no faults. Production orders are created and released in the ERP first
(the hub sees them through its feed poller, checks them, downloads them to the MES), so the events
below have real orders to post against.

1. Throughput: a burst of `production.goods.completed` events (canonical, posted to /v1/events in
   batches of 50, as the MES adapter would) spread over the orders. Each event goes through every
   subscriber that takes it (inventory, ATP, tally, flows release / consumption / completion /
   supply-delay) and makes the completion flow call two sinks: a WMS put-away request and an ERP
   goods receipt. Measured: first POST to "settled" (every subscriber at the head, the command
   outbox empty), so the figure includes every sink call, not just ingest.
   Baseline: the same sink calls (one put-away, one goods receipt per event) made directly by one
   client to the simulators, without the hub; the ratio is hub events/s over direct events/s.
2. Latency: completions at a steady 500 events/s (25 per request every 50 ms) for
   the run time. For each, t0 = the 202 answer (its journal seq in the body); t1 = the first moment
   a poller (reading the hub's committed state read-only every ~2 ms: the ATP subscriber's cursor,
   which delivery writes in the same transaction as the projection's changes) sees the position at
   or past that seq, i.e. the ATP projection has applied it. Latency = t1 - t0, so it
   carries up to one poll interval of measurement error, stated with the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from plantwire.cli.demo import Stack, wait_settled

BATCH = {"content-type": "application/cloudevents-batch+json"}


def completion(order: str, n: int, qty: int = 1) -> dict[str, Any]:
    """A canonical production.goods.completed for order `order`, completion number n."""
    at = "2026-11-27T08:00:00+00:00"
    return {"specversion": "1.0", "id": f"BENCH-{order}-{n}", "source": "mes/plant-1000",
            "type": "production.goods.completed", "time": at, "datacontenttype": "application/json",
            "contractversion": "1", "plant": "1000",
            "data": {"order_id": order, "plant": "1000", "completion_id": f"BENCH-{order}-{n}",
                     "item_id": "FG-PUMP-100", "yield_quantity": {"value": str(qty), "uom": "EA"},
                     "scrap_quantity": {"value": "0", "uom": "EA"}, "lot": f"BL-{order[-4:]}",
                     "storage_location": "FG01", "final": False, "completed_at": at}}


def release_orders(stack: Stack, count: int) -> list[str]:
    """Production orders created and released in the ERP, once the hub has read them all."""
    with stack.sim("erp") as erp:
        body = {"MATNR": "10000100", "GAMNG": 1000}
        orders = [erp.post("/admin/production-orders", json=body).json()["AUFNR"] for _ in range(count)]
    wait_settled(stack, timeout=120)
    return orders


def throughput(stack: Stack, orders: list[str], events: int) -> tuple[float, float]:
    """(events/s through the hub to settled, seconds)."""
    evs = [completion(orders[n % len(orders)], n) for n in range(events)]
    started = time.perf_counter()
    with stack.client() as hub:
        for i in range(0, len(evs), 50):
            resp = hub.post("/v1/events", content=orjson.dumps(evs[i:i + 50]), headers=BATCH)
            assert resp.status_code in (200, 202, 207), resp.text
    wait_settled(stack, timeout=600)
    seconds = time.perf_counter() - started
    return events / seconds, seconds


def direct(stack: Stack, orders: list[str], events: int) -> float:
    """Events/s when one client makes the same sink calls (put-away + goods receipt) itself."""
    started = time.perf_counter()
    with stack.sim("wms") as wms, stack.sim("erp") as erp:
        for n in range(events):
            order = orders[n % len(orders)]
            key = f"DIRECT-{order}-{n}"
            wms.post("/api/putaway-requests", json={"sku": "SKU-10100", "qty": 1, "uom": "EA", "lot": key,
                                                    "orderRef": order, "fromBin": "90-01-01"},
                     headers={"Idempotency-Key": key}).raise_for_status()
            erp.post("/api/goods-movements", json={
                "GOODSMVT_HEADER": {"REF_DOC_NO": key},
                "ITEMS": [{"BWART": "101", "MATNR": "10000100", "WERKS": "1000", "LGORT": "FG01",
                           "CHARG": key[-20:], "ERFMG": "1", "ERFME": "ST", "AUFNR": order}]},
            ).raise_for_status()
    return events / (time.perf_counter() - started)


class AtpWatcher:
    """Polls the ATP subscriber's position; records when each position was first seen."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.seen, self.polls = stack, [(0.0, 0)], 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            pos = int(dict(self.stack.state("cursor", "atp")).get("atp") or 0)
            self.polls += 1
            if pos > self.seen[-1][1]:
                self.seen.append((time.perf_counter(), pos))
            time.sleep(0.002)

    def applied_at(self, seq: int) -> float | None:
        """When the position first reached `seq`."""
        for t, pos in self.seen:
            if pos >= seq:
                return t
        return None


def latency(stack: Stack, orders: list[str], rate: int, seconds: float) -> dict[str, float]:
    """p50/p99 (ms) from a completion's 202 to ATP applied, at a steady `rate` events/s."""
    watcher = AtpWatcher(stack)
    watcher.thread.start()
    per_request = 25
    interval = per_request / rate
    sent: list[tuple[float, int]] = []
    n, start = 0, time.perf_counter()
    with stack.client() as hub:
        while time.perf_counter() - start < seconds:
            due = start + (n // per_request) * interval
            if (pause := due - time.perf_counter()) > 0:
                time.sleep(pause)
            evs = [completion(orders[(n + k) % len(orders)], 10_000_000 + n + k) for k in range(per_request)]
            resp = hub.post("/v1/events", content=orjson.dumps(evs), headers=BATCH)
            t0 = time.perf_counter()
            sent += [(t0, int(r["seq"])) for r in resp.json()["results"] if r.get("seq")]
            n += per_request
    achieved = n / (time.perf_counter() - start)
    deadline = time.perf_counter() + 120
    while watcher.applied_at(sent[-1][1]) is None and time.perf_counter() < deadline:
        time.sleep(0.01)
    watcher.stop.set()
    watcher.thread.join()
    ms = sorted(((watcher.applied_at(seq) or deadline) - t0) * 1000 for t0, seq in sent)
    # not waited for: the command relay's backlog of put-aways and receipts (see throughput for it)
    return {"sent": len(ms), "achieved_rate": achieved, "p50": statistics.median(ms),
            "p99": ms[int(len(ms) * 0.99) - 1], "max": ms[-1],
            "poll_ms": 1000 * seconds / max(1, watcher.polls)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run, under a minute")
    parser.add_argument("--rate", type=int, default=500)
    args = parser.parse_args(argv)
    burst, run_for, order_count = (300, 5.0, 20) if args.quick else (3000, 20.0, 50)
    with tempfile.TemporaryDirectory(prefix="plantwire-bench-") as tmp:
        stack = Stack(Path(tmp)).start()
        try:
            orders = release_orders(stack, order_count)
            hub_rate, hub_s = throughput(stack, orders, burst)
            print(f"throughput: {burst} completions through all flows (2 sink calls each) in {hub_s:.1f} s "
                  f"= {hub_rate:.0f} events/s")
            raw = direct(stack, orders, burst // 2)
            print(f"baseline: the same sim calls made directly = {raw:.0f} events/s; "
                  f"hub/direct = {hub_rate / raw:.2f}")
            lat = latency(stack, orders, args.rate, run_for)
            print(f"latency completion 202 -> ATP applied at {lat['achieved_rate']:.0f} events/s "
                  f"({lat['sent']:.0f} events): p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, "
                  f"max {lat['max']:.1f} ms (ATP cursor read every ~{lat['poll_ms']:.1f} ms)")
        finally:
            stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
