"""Edge benchmark: outbox write rate next to raw SQLite, drain rate to a local hub, RSS with a big backlog.

    .venv/bin/python benchmarks/edge.py [--quick]

(a) Outbox.store (insert-if-absent, priority, two partial indexes, WAL, synchronous=FULL, one fsync
    per batch of 1,000) next to a raw executemany of the same rows into a plain table with the same
    UNIQUE (source, id) and the same pragmas, in the same run and on the same disk; plus the full
    intake path (validate against the catalog + store).
(b) drain: a real `plantwire serve` on loopback; the outbox is filled, then the forwarder (in this
    process) sends it in batches of 1,000 until the backlog is empty.
(c) memory: the outbox is filled with 1,000,000 events (100,000 with --quick) through Outbox.store in
    batches of 10,000; then a real `plantwire edge` agent runs on it with its hub link down; its RSS
    (VmRSS, VmHWM) is read from /proc after it has ticked (counted the backlog, raised alarms), and
    a 1,000-event POST is timed against it.

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson

from plantwire.bootstrap import Settings, bootstrap
from plantwire.clocks import SystemClock
from plantwire.domain.catalog import CATALOG
from plantwire.edge.forwarder import Forwarder
from plantwire.edge.intake import EdgeIntake
from plantwire.edge.metrics import EdgeMetrics
from plantwire.edge.outbox import Outbox
from plantwire.edge.settings import EdgeSettings, priority_of
from plantwire.edge.status import backlog_by_priority
from plantwire.envelope import Pending
from plantwire.service.bodies import BATCH
from plantwire.service.fastpath import read_body
from plantwire.service.validation import validate_event
from plantwire.simulators.scenario import plant_day
from plantwire.simulators.testing import free_port

PLANTWIRE = str(Path(sys.executable).parent / "plantwire")
RAW_SCHEMA = """CREATE TABLE raw (seq INTEGER PRIMARY KEY, source TEXT NOT NULL, event_id TEXT NOT NULL,
    type TEXT NOT NULL, pkey TEXT NOT NULL, priority INTEGER NOT NULL, accepted_at REAL NOT NULL,
    digest BLOB NOT NULL, body BLOB NOT NULL, UNIQUE (source, event_id))"""
RAW_INSERT = "INSERT INTO raw (source, event_id, type, pkey, priority, accepted_at, digest, body) " \
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def base_events() -> list[Pending]:
    """About 1,000 validated events of a plant's day."""
    return [validate_event(e, CATALOG) for e in plant_day("1000", 110)]


def variants(base: list[Pending], total: int, chunk: int) -> Iterator[list[Pending]]:
    """`total` distinct events in chunks: the base day again and again under new ids."""
    made, round_ = 0, 0
    while made < total:
        out: list[Pending] = []
        while len(out) < chunk and made < total:
            p = base[made % len(base)]
            round_ = made // len(base)
            out.append(Pending.of(dataclasses.replace(p.envelope, id=f"{p.envelope.id}#{round_}")))
            made += 1
        yield out


def bench_writes(tmp: Path, total: int) -> None:
    base = base_events()
    chunks = list(variants(base, total, 1000))
    box = Outbox(tmp / "w" / "outbox.db")
    started = time.perf_counter()
    for chunk in chunks:
        box.store(chunk, [priority_of(p.envelope.type) for p in chunk], time.time())
    ours = total / (time.perf_counter() - started)
    box.close()
    raw = sqlite3.connect(tmp / "w" / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute(RAW_SCHEMA)
    started = time.perf_counter()
    for chunk in chunks:
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(RAW_INSERT, [(p.envelope.source, p.envelope.id, p.envelope.type,
                                      p.envelope.partitionkey, 1, time.time(), p.digest, p.body)
                                     for p in chunk])
        raw.execute("COMMIT")
    baseline = total / (time.perf_counter() - started)
    raw.close()
    print(f"(a) outbox write, batches of 1000, fsync'd: {ours:,.0f} events/s; raw SQLite executemany "
          f"same rows: {baseline:,.0f} events/s; ratio {ours / baseline:.2f}")
    objs = [orjson.loads(p.body) for chunk in chunks[: max(1, len(chunks) // 5)] for p in chunk]
    bodies = [orjson.dumps(objs[i : i + 1000]) for i in range(0, len(objs), 1000)]
    intake = EdgeIntake(Outbox(tmp / "w2" / "outbox.db"), CATALOG, SystemClock())
    started = time.perf_counter()
    for body in bodies:  # what POST /v1/events does with a batch body
        intake.accept_sync(read_body(CATALOG, BATCH, {}, body, 1000))
    print(f"    full intake (read + validate + store a batch body): "
          f"{len(objs) / (time.perf_counter() - started):,.0f} events/s")
    intake.outbox.close()


def start_hub(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """`plantwire serve` on the data directory, once /healthz answers."""
    proc = subprocess.Popen([PLANTWIRE, "serve", "--data-dir", str(data_dir), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the hub exited at start ({proc.returncode})")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the hub did not answer /healthz within 30 s")


def bench_drain(tmp: Path, total: int) -> None:
    hub_dir = tmp / "hub"
    hub = bootstrap(Settings(data_dir=hub_dir))
    token = hub.keys.create("edge-bench")
    hub.close()
    port = free_port()
    proc = start_hub(hub_dir, port)
    try:
        settings = EdgeSettings(hub_url=f"http://127.0.0.1:{port}", data_dir=tmp / "drain", hub_key=token)
        box = Outbox(settings.outbox_path)
        for chunk in variants(base_events(), total, 5000):
            box.store(chunk, [priority_of(p.envelope.type) for p in chunk], time.time())
        fwd = Forwarder(box, settings, SystemClock(), EdgeMetrics())
        reader = box.reader()

        async def drain() -> float:
            task = asyncio.create_task(fwd.run())
            started = time.perf_counter()
            while backlog_by_priority(reader, time.time()):
                await asyncio.sleep(0.05)
            task.cancel()
            return time.perf_counter() - started

        seconds = asyncio.run(drain())
        print(f"(b) drain to a local hub: {total:,} events in {seconds:.1f} s = {total / seconds:,.0f} "
              f"events/s (hub ingest + its delivery worker on the same 2 cores)")
        reader.close()
        box.close()
    finally:
        proc.terminate()
        proc.wait(10)


def rss(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def bench_memory(tmp: Path, total: int) -> None:
    data = tmp / "big"
    box = Outbox(data / "outbox.db")
    started = time.perf_counter()
    for chunk in variants(base_events(), total, 10_000):
        box.store(chunk, [priority_of(p.envelope.type) for p in chunk], time.time())
    filled = time.perf_counter() - started
    box.close()
    size = sum(f.stat().st_size for f in data.iterdir()) / 1e6
    port = free_port()
    proc = subprocess.Popen([PLANTWIRE, "edge", "--hub", f"http://127.0.0.1:{free_port()}", "--data-dir",
                             str(data), "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "agent did not start"
                time.sleep(0.1)
        time.sleep(5)  # a few ticks: backlog counted, alarms raised, forwarder retrying
        started = time.perf_counter()
        status = httpx.get(f"{url}/v1/status", timeout=60).json()
        status_s = time.perf_counter() - started
        extra = [orjson.loads(p.body) for p in next(variants(base_events()[:1000], 1000, 1000))]
        for e in extra:
            e["id"] += "/extra"
        started = time.perf_counter()
        code = httpx.post(f"{url}/v1/events", content=orjson.dumps(extra), timeout=60,
                          headers={"content-type": "application/cloudevents-batch+json"}).status_code
        post_s = time.perf_counter() - started
        now_rss, peak_rss = rss(proc.pid)
        print(f"(c) backlog {status['backlog']['total']:,} events ({size:,.0f} MB on disk, filled in "
              f"{filled:.1f} s): agent RSS {now_rss} MiB (peak {peak_rss} MiB); GET /v1/status "
              f"{status_s * 1000:.0f} ms; POST of 1000 events -> {code} in {post_s * 1000:.0f} ms; "
              f"alarms {sorted(status['alarms'])}")
    finally:
        proc.kill()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about 30 s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plantwire-edge-bench-") as tmp:
        root = Path(tmp)
        bench_writes(root, 20_000 if args.quick else 200_000)
        bench_drain(root, 10_000 if args.quick else 100_000)
        bench_memory(root, 100_000 if args.quick else 1_000_000)


if __name__ == "__main__":
    main()
