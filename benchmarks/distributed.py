"""Distributed benchmark: PostgreSQL journal + NATS JetStream bus, end to end with 1, 2, 3 workers,
next to the raw rates of the same machine in the same run.

    .venv/bin/python benchmarks/distributed.py [--quick] [--events N] [--rounds R] [--pg URL] [--nats URL]

Load: simulated plant days of 12 plants (about 10 events per production order), validated as
ingest does, each with a unique identity; document numbers (orders, POs, holds) made unique per
plant, as one ERP numbers them. Every phase gets a schema and stream prefix of its own (dropped at
the end), so nothing else on the server is disturbed.

- raw PostgreSQL: batched multi-row INSERT (unnest of binary array parameters, batches of 500, one
  commit each) of the same rows into a table with the journal's columns and unique index.
- ingest: `PostgresJournal.append` of the same rows in batches of 500 (what group commit hands it).
- raw JetStream: `publish_async` of the same messages (same subjects, headers, bodies), all acks.
- relay: `JournalRelay` moving the journaled rows to JetStream (the bus path's publish side).
- end to end: K `plantwire worker --backend PG --bus NATS` processes started and holding their
  partitions; then time from the first append until the tally has every event (journal, relay,
  fetch, Inventory, ATP and Tally projections, positions, acks), as events/s. Beside it: how busy
  the machine's cores were meanwhile (all processes), and the workers' CPU time per event.

Every figure is the best of R alternating rounds (default 2; the machine is shared).

Ratios: ingest / raw PostgreSQL (target >= 50 %), relay / raw JetStream (target >= 60 %), and end
to end with K workers / with one. Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nats
import psycopg

from plantwire.bus.nats import BusUrl, JetStreamBus
from plantwire.bus.relay import JournalRelay, outgoing
from plantwire.clocks import SystemClock
from plantwire.domain.catalog import CATALOG
from plantwire.envelope import JournalEntry, OutboxRow, Pending
from plantwire.journal.postgres import PgTarget, upgrade
from plantwire.journal.postgres_journal import PostgresJournal
from plantwire.journal.postgres_state import PostgresState
from plantwire.processes import stop_process
from plantwire.service.validation import validate_event
from plantwire.simulators.scenario import plant_day

PLANTWIRE = str(Path(sys.executable).parent / "plantwire")
BATCH = 500


DOCUMENT_IDS = ("po_number", "order_id", "hold_id")
"""Document numbers the simulated plant days share (each starts at the same number): made unique per
plant, as one ERP's numbering is, so no two plants' orders are the same state rows. Business keys
get the plant too (a transfer's key is its item, which every plant has)."""


def events(n: int) -> list[Pending]:
    out: list[Pending] = []
    plants, run = 12, uuid.uuid4().hex[:6]
    per = max(1, n // (plants * 10))
    for p in range(plants):
        plant = str(3000 + p)
        for e in plant_day(plant=plant, orders=per, seed=p):
            e = {**e, "id": f"{run}-{p}-{e['id']}",
                 "data": {k: f"{plant}-{v}" if k in DOCUMENT_IDS else v for k, v in e["data"].items()}}
            key = validate_event(e, CATALOG).envelope.partitionkey
            out.append(validate_event({**e, "partitionkey": f"{plant}:{key}"}, CATALOG))
    return out[:n]


class Schema:
    def __init__(self, base: str) -> None:
        self.name = f"pw_bench_{uuid.uuid4().hex[:10]}"
        self.url = f"{base}{'&' if '?' in base else '?'}schema={self.name}"
        self.target = PgTarget.from_url(self.url)
        upgrade(self.target)

    def drop(self) -> None:
        with psycopg.connect(self.target.conninfo, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


def raw_pg(base: str, rows: list[Pending]) -> float:
    s = Schema(base)
    t = s.target.table("raw")
    try:
        with psycopg.connect(s.target.conninfo, autocommit=True) as c:
            c.execute(f"CREATE TABLE {t} (seq bigint primary key, source text, event_id text, type text, "
                      "partition_key text, recorded_at double precision, digest bytea, body bytea, "
                      "UNIQUE (source, event_id))")
            c.execute("SET synchronous_commit = on")
            t0 = time.perf_counter()
            for i in range(0, len(rows), BATCH):
                b = rows[i:i + BATCH]
                c.execute(
                    f"INSERT INTO {t} SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], "
                    "%b::text[], %b::float8[], %b::bytea[], %b::bytea[])",
                    (list(range(i + 1, i + 1 + len(b))), [p.envelope.source for p in b],
                     [p.envelope.id for p in b], [p.envelope.type for p in b],
                     [p.envelope.partitionkey for p in b], [time.time()] * len(b),
                     [p.digest for p in b], [p.body for p in b]))
            return len(rows) / (time.perf_counter() - t0)
    finally:
        s.drop()


def ingest(schema: Schema, rows: list[Pending]) -> float:
    journal = PostgresJournal(schema.target, SystemClock())
    try:
        t0 = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            journal.append(rows[i:i + BATCH])
        return len(rows) / (time.perf_counter() - t0)
    finally:
        journal.close()


def bus_url(base: str) -> str:
    return f"{base}?prefix=bench{uuid.uuid4().hex[:8]}&partitions=8"


def raw_jetstream(base: str, entries: list[JournalEntry]) -> float:
    url = BusUrl.parse(bus_url(base))
    messages, _ = outgoing(url, [OutboxRow.of(e) for e in entries], [0] * url.partitions)
    JetStreamBus(url).ensure_stream()  # same stream settings as the relay's

    async def run() -> float:
        nc = await nats.connect(url.servers)
        js = nc.jetstream()
        t0 = time.perf_counter()
        futures = [await js.publish_async(m.subject, m.payload, headers=m.headers) for m in messages]
        await asyncio.gather(*futures)
        rate = len(messages) / (time.perf_counter() - t0)
        await js.delete_stream(url.stream)
        await nc.close()
        return rate
    return asyncio.run(run())


def relay(schema: Schema, base: str) -> tuple[float, list[JournalEntry]]:
    url = BusUrl.parse(bus_url(base))
    journal, state = PostgresJournal(schema.target, SystemClock()), PostgresState(schema.target)
    bus = JetStreamBus(url)
    try:
        bus.ensure_stream()
        r = JournalRelay(journal, state, bus, url, lambda: True)
        t0 = time.perf_counter()
        while r.step():
            pass
        rate = r.published / (time.perf_counter() - t0)
        return rate, journal.read(0, 10**9)[0]
    finally:
        bus.delete_stream()
        bus.close()
        journal.close()
        state.close()


def applied(target: PgTarget) -> int:
    with psycopg.connect(target.conninfo, autocommit=True) as c:
        row = c.execute(f"SELECT count(*) FROM {target.table('kv')} WHERE ns = 'tally.events'").fetchone()
        return int(row[0]) if row else 0


def leases_held(target: PgTarget, prefix: str, partitions: int) -> bool:
    with psycopg.connect(target.conninfo, autocommit=True) as c:
        row = c.execute(f"SELECT count(*) FROM {target.table('kv')} WHERE ns = %s",
                        (f"leases:{prefix}",)).fetchone()
        return bool(row) and int(row[0]) >= partitions


def cpu_ticks(pids: list[int] | None = None) -> tuple[float, float]:
    """(busy, total) seconds of all cores from /proc/stat, or CPU seconds of `pids` (0 off Linux)."""
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        if pids is None:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
            idle = fields[3] + fields[4]
            return (sum(fields) - idle) / hz, sum(fields) / hz
        spent = 0
        for pid in pids:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            spent += int(stat[11]) + int(stat[12])
        return spent / hz, 0.0
    except OSError:
        return 0.0, 0.0


def logs_tail(folder: str) -> str:
    """The end of every worker's log (the folder is deleted once the phase ends)."""
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}"
                     for log in sorted(Path(folder).glob("w*.log")))


def end_to_end(base_pg: str, base_nats: str, rows: list[Pending], workers: int) -> tuple[float, float, float]:
    """Workers started and holding their partitions first; then the clock runs from the first
    append (batches of 500, as group commit hands them) until the tally has every event. Returns
    events/s, the share of the machine's cores busy meanwhile, and the workers' CPU µs per event."""
    schema = Schema(base_pg)
    url = bus_url(base_nats)
    parsed = BusUrl.parse(url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for w in range(workers):
                log = open(Path(tmp) / f"w{w}.log", "wb")  # noqa: SIM115
                procs.append(subprocess.Popen(
                    [PLANTWIRE, "worker", "--backend", schema.url, "--bus", url, "--data-dir", f"{tmp}/w{w}"],
                    stdout=log, stderr=subprocess.STDOUT))
            deadline = time.monotonic() + 120
            while not leases_held(schema.target, parsed.prefix, parsed.partitions):
                if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                    raise SystemExit("the workers did not take their partitions:\n" + logs_tail(tmp))
                time.sleep(0.2)
            time.sleep(3)  # let the last worker take its share
            pids = [p.pid for p in procs]
            (busy0, all0), (own0, _) = cpu_ticks(), cpu_ticks(pids)
            t0 = time.perf_counter()
            ingest(schema, rows)
            while applied(schema.target) < len(rows):
                if any(p.poll() is not None for p in procs):
                    raise SystemExit("a worker died:\n" + logs_tail(tmp))
                time.sleep(0.05)
            rate = len(rows) / (time.perf_counter() - t0)
            (busy1, all1), (own1, _) = cpu_ticks(), cpu_ticks(pids)
            return rate, (busy1 - busy0) / max(all1 - all0, 1e-9), (own1 - own0) / len(rows) * 1e6
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            stop_process(p, signal.SIGTERM, 20)  # SIGKILL after 20 s: no worker outlives the run
        bus = JetStreamBus(parsed)
        bus.delete_stream()
        bus.close()
        schema.drop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="4,000 events, one round")
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best is printed")
    ap.add_argument("--pg", default=os.environ.get("PLANTWIRE_TEST_PG",
                                                   "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--nats", default=os.environ.get("PLANTWIRE_TEST_NATS", "nats://127.0.0.1:4222"))
    args = ap.parse_args()
    n, rounds = (4_000, 1) if args.quick else (args.events, max(1, args.rounds))
    rows = events(n)
    gc.freeze()  # the load lives through every phase: no collection in them need walk it
    print(f"{len(rows)} events, {sum(len(p.body) for p in rows) // len(rows)} bytes each on average, "
          f"batches of {BATCH}; {os.cpu_count()} cores; best of {rounds} round(s)")
    pg_raw, pg_ingest, relayed, js_raw = 0.0, 0.0, 0.0, 0.0
    e2e: dict[int, tuple[float, float, float]] = {}
    for _ in range(rounds):  # alternate: the machine is shared and the first run warms up
        pg_raw = max(pg_raw, raw_pg(args.pg, rows))
        schema = Schema(args.pg)
        try:
            pg_ingest = max(pg_ingest, ingest(schema, rows))
            rate, entries = relay(schema, args.nats)
            relayed = max(relayed, rate)
        finally:
            schema.drop()
        js_raw = max(js_raw, raw_jetstream(args.nats, entries))
        for k in (1, 2, 3):
            e2e[k] = max(e2e.get(k, (0.0, 0.0, 0.0)), end_to_end(args.pg, args.nats, rows, k))
    line = "{:36s}{:9.0f} events/s{}"
    print(line.format("raw PostgreSQL batched insert", pg_raw, ""))
    print(line.format("ingest (PostgresJournal.append)", pg_ingest,
                      f"  = {pg_ingest / pg_raw:6.1%} of raw PostgreSQL (target >= 50%)"))
    print(line.format("raw JetStream async publish", js_raw, ""))
    print(line.format("relay journal -> JetStream", relayed,
                      f"  = {relayed / js_raw:6.1%} of raw JetStream (target >= 60%)"))
    one = e2e[1][0]
    for k, (rate, busy, cpu) in e2e.items():
        print(line.format(f"end to end, {k} worker{'s' if k > 1 else ''}", rate,
                          f"  = {rate / one:4.2f} x one worker; cores {busy:4.0%} busy, "
                          f"workers' CPU {cpu:4.0f} us/event"))


if __name__ == "__main__":
    main()
