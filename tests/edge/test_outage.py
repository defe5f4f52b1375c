"""Outage: a real hub and a real edge agent with a TCP proxy between them; the link is cut while a
local source sends ~100,000 events, the agent is SIGKILLed once during the outage, then the link
comes back.

Every event reaches the hub exactly once (journal rows by identity), per-key order holds (for each
partition key, hub journal seq order equals the order the source sent them), and the high-priority
events sent during the outage (quality holds and releases) were journaled before every routine
event sent during the outage. Figures are printed: backlog peak, drain rate, time to drain.

Sized for 2 cores: 100,000 events in batches of 1,000 (PLANTWIRE_OUTAGE_EVENTS scales it).
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from plantwire.edge.settings import HIGH, priority_of
from plantwire.simulators.scenario import plant_day

from .procs import Edge, Hub, TcpProxy

EVENTS = int(os.environ.get("PLANTWIRE_OUTAGE_EVENTS", "100000"))
BATCH = 1000
WARMUP = 5000


def wait_for(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return value


def send_all(edge: Edge, events: list[dict[str, Any]], progress: list[int]) -> None:
    """Batches in order; a batch without a 202 (the agent is down) is sent again until it gets one."""
    with httpx.Client(timeout=60) as client:
        for i in range(0, len(events), BATCH):
            while True:
                try:
                    if edge.post(client, events[i : i + BATCH]).status_code == 202:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            progress[0] = i + BATCH


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_outage_with_sigkill_loses_nothing_keeps_order_and_priority(tmp_path: Path) -> None:
    events = list(plant_day("1000", EVENTS // 8 + 1))[:EVENTS]
    hub = Hub(tmp_path)
    hub.start()
    proxy = TcpProxy(hub.port)
    edge = Edge(tmp_path, f"http://127.0.0.1:{proxy.port}", hub.key_file, "--alarm-backlog",
                str(min(20_000, (EVENTS - WARMUP) // 2)))
    edge.start()
    try:
        send_all(edge, events[:WARMUP], [0])
        wait_for(lambda: edge.status()["backlog"]["total"] == 0, 60)

        proxy.cut()
        cut_at = time.monotonic()
        outage = events[WARMUP:]
        progress = [0]
        sender = threading.Thread(target=send_all, args=(edge, outage, progress))
        sender.start()
        wait_for(lambda: progress[0] >= len(outage) // 2, 300)
        edge.kill()  # SIGKILL mid-stream, link still cut
        edge.start()
        sender.join()
        sent_for = time.monotonic() - cut_at
        time.sleep(10)  # the link stays down a while longer with the whole backlog waiting
        st = wait_for(lambda: (s := edge.status())["alarms"] and s, 30)
        assert "backlog-count" in st["alarms"] and st["link"]["state"] == "down"
        peak = st["backlog"]["total"]
        # everything acknowledged to the source is waiting, none dropped (plus the agent's own alarm events)
        assert len(outage) <= peak <= len(outage) + 3

        proxy.restore()
        restored = time.monotonic()
        wait_for(lambda: edge.status()["backlog"]["total"] == 0, 600)
        drained = time.monotonic() - restored
        st = edge.status()
        assert st["failed_at_hub"]["count"] == 0

        every = hub.journal()
        rows = [r for r in every if not r[3].startswith("edge.alarm.")]
        alarms = [r for r in every if r[3].startswith("edge.alarm.")]
        # the hub heard about the backlog alarm (raised during the outage, cleared after the drain)
        assert {"edge.alarm.raised", "edge.alarm.cleared"} <= {r[3] for r in alarms}
        seq_of = {(src, eid): seq for seq, src, eid, _, _ in rows}
        assert len(rows) == len(seq_of) == len(events)  # exactly once
        assert set(seq_of) == {(e["source"], e["id"]) for e in events}

        by_key: dict[str, list[int]] = defaultdict(list)  # hub seqs in the order the source sent
        key_of = {(src, eid): key for _, src, eid, _, key in rows}
        for e in events:
            ident = (e["source"], e["id"])
            by_key[key_of[ident]].append(seq_of[ident])
        assert all(seqs == sorted(seqs) for seqs in by_key.values())

        high = [seq_of[(e["source"], e["id"])] for e in outage if priority_of(e["type"]) == HIGH]
        routine = [seq_of[(e["source"], e["id"])] for e in outage if priority_of(e["type"]) != HIGH]
        assert high and max(high) < min(routine)

        print(f"\noutage: {len(outage)} events sent in {sent_for:.1f} s with the link cut "
              f"(agent SIGKILLed once); backlog peak {peak} ({len(high)} high priority); "
              f"drained in {drained:.1f} s after the link came back: {peak / drained:.0f} events/s; "
              f"{len(rows)} journaled exactly once, {len(by_key)} keys in order")
    finally:
        edge.kill()
        proxy.close()
        hub.kill()
