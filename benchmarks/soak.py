"""Soak benchmark: 10^6 events through ingest, delivery and the projections of an embedded hub.

    .venv/bin/python benchmarks/soak.py [--events N] [--quick] [--worker-process] [--keep DIR]

A real `plantwire serve` (SQLite data directory in a temporary directory, delivery in the same
process unless --worker-process) gets N valid events (an endless `plant_day`, ids unique over the
run: benchmarks/ingest.py's `Events`), posted in batches (application/cloudevents-batch+json) by
benchmarks/loadgen.py, chunk after chunk (the next chunk is built while one is sent). Every second
the server's RSS is sampled (VmRSS from /proc, the server and its child processes) next to the
journal head. At the end, once delivery has caught up (bounded wait), it prints: events sent and
accepted, journal head, each subscriber's position against the head (GET /v1/status), whether
anything was lost, peak RSS, the RSS slope over the second half of the sending (MB per 100k
events, least-squares fit), events/s, and as baselines the server's RSS just after start and a raw
SQLite executemany of the same rows (1000 per commit, fsync'd) on the same disk.

Target (issue #13 item 8): RSS flat, under 300 MB. Figures are printed, never asserted; the
script exits non-zero only when events were lost or refused, or on an exception.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from ingest import (
    PLANTWIRE,
    Events,
    JournalProbe,
    Report,
    Server,
    free_port,
    num,
    proc_status,
    raw_commit_rate,
    raw_rows,
    request_bytes,
    run_load,
)

from plantwire.bootstrap import JOURNAL_FILE
from plantwire.service.bodies import BATCH

SENDERS = 4
BATCH_SIZE = 500
CHUNK = 50_000
QUICK_EVENTS = 20_000


# ----------------------------------------------------------------------------- requests

def chunk_requests(events: Events, port: int, token: str, n: int) -> tuple[list[list[bytes]], int]:
    """n events as batch requests, whole orders dealt round-robin to the senders (each sender sends
    its orders in order); the last request of a sender may be short. Returns (requests, events)."""
    orders = events.orders(n)
    streams = [[e for order in orders[s::SENDERS] for e in order] for s in range(SENDERS)]
    reqs = [[request_bytes(port, token, BATCH, orjson.dumps(evs[i : i + BATCH_SIZE]))
             for i in range(0, len(evs), BATCH_SIZE)] for evs in streams]
    return reqs, sum(map(len, streams))


# ----------------------------------------------------------------------------- RSS

def tree_rss_kib(pid: int) -> int:
    """VmRSS of a process and all its descendants, KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += proc_status(p, "VmRSS")
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return total


class Sampler:
    """Every second: (seconds since start, journal head, RSS of the server tree in KiB)."""

    def __init__(self, pid: int, data_dir: Path) -> None:
        self.pid, self.data_dir = pid, data_dir
        self.samples: list[tuple[float, int, int]] = []
        self.t0 = time.perf_counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(f"file:{self.data_dir / JOURNAL_FILE}?mode=ro", uri=True, timeout=5)
        try:
            while True:
                try:
                    head = int(conn.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()[0])
                except sqlite3.Error:
                    head = self.samples[-1][1] if self.samples else 0
                self.samples.append((time.perf_counter() - self.t0, head, tree_rss_kib(self.pid)))
                if self.stop.wait(1.0):
                    return
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x (None with fewer than 3 points or no spread in x)."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def mb(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


# ----------------------------------------------------------------------------- the run

def wait_delivered(server: Server, seconds: float) -> dict[str, Any]:
    """/v1/status once every subscriber is at the head, or when `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        status: dict[str, Any] = server.http.get("/v1/status").json()
        if all(s["position"] >= status["journal_head"] for s in status["subscribers"].values()):
            return status
        if time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def main() -> int:  # noqa: C901 - one straight script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to send (default 10^6)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events (a smoke run)")
    parser.add_argument("--worker-process", action="store_true",
                        help="deliver in serve's child worker process instead of a thread of the server")
    parser.add_argument("--drain-timeout", type=float, help="most seconds to wait for delivery to catch up "
                        "after the last event (default: 120 s + 1 s per 2,000 events)")
    parser.add_argument("--keep", type=Path, help="keep the hub's data directory here")
    args = parser.parse_args()
    total = QUICK_EVENTS if args.quick else args.events
    chunk = min(CHUNK, max(total // 4, 1000))
    drain_timeout = args.drain_timeout or 120 + total / 2000
    work = Path(tempfile.mkdtemp(prefix="plantwire-soak-"))
    data_dir = args.keep or work / "hub"
    if data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(f"{data_dir} is not empty")
    tag = uuid.uuid4().hex[:8]
    events = Events(tag)
    report = Report()
    print(f"plantwire soak: {total:,} events, batches of {BATCH_SIZE}, {SENDERS} senders, chunks of "
          f"{chunk:,}; delivery in {'a child worker process' if args.worker_process else 'a server thread'};"
          f" run {tag}, data in {data_dir}", flush=True)
    try:
        # ---- baseline: raw SQLite executemany of the hub's rows, 1000 per fsync'd commit ---------
        rows = raw_rows(events.take(2000), 50_000)
        raw_rate, _ = raw_commit_rate(work, rows, 1000, 2.0)
        del rows
        token = subprocess.run([PLANTWIRE, "keys", "create", "soak", "-d", str(data_dir)],
                               capture_output=True, text=True, check=True).stdout.strip().split()[-1]
        port = free_port()
        cmd = [PLANTWIRE, "serve", "--data-dir", str(data_dir), "--port", str(port),
               *(["--worker-process"] if args.worker_process else [])]
        hub = Server(cmd, port, work / "hub.log", "/healthz", token)
        sampler: Sampler | None = None
        probe = JournalProbe(data_dir)
        try:
            time.sleep(1.0)
            idle_kib = tree_rss_kib(hub.pid)
            head0 = probe.head()
            sampler = Sampler(hub.pid, data_dir)
            sent = accepted = failed = 0
            t_start = time.perf_counter()
            with ThreadPoolExecutor(1) as pool:
                nxt: Future[tuple[list[list[bytes]], int]] | None = pool.submit(
                    chunk_requests, events, port, token, min(chunk, total))
                k = 0
                while nxt is not None:
                    reqs, n = nxt.result()
                    left = total - sent - n
                    nxt = (pool.submit(chunk_requests, events, port, token, min(chunk, left))
                           if left > 0 else None)
                    load = run_load(work, port, reqs, 3600, BATCH_SIZE, hub.pid, f"chunk{k}", report)
                    del reqs
                    sent += n
                    accepted += load.accepted
                    failed += load.error_count
                    k += 1
                    s = sampler.samples[-1] if sampler.samples else (0.0, 0, 0)
                    print(f"  {sent:>10,} sent, {accepted:>10,} accepted, head {s[1]:>10,}, RSS {mb(s[2])}, "
                          f"{sent / (time.perf_counter() - t_start):,.0f} events/s so far", flush=True)
            t_sent = time.perf_counter()
            status = wait_delivered(hub, drain_timeout)
            t_done = time.perf_counter()
            sampler.close()
            samples = sampler.samples
            peak_hwm = proc_status(hub.pid, "VmHWM")
        finally:
            if sampler is not None:
                sampler.close()
            probe.conn.close()
            code = hub.stop()
        if code not in (0, -signal.SIGINT):
            report.errors.append(f"!!! the hub exited with {code}; see {work / 'hub.log'}")

        # ---- figures --------------------------------------------------------------------------------
        head = int(status["journal_head"])
        send_end = t_sent - sampler.t0
        sending = [(t, h, r) for t, h, r in samples if t <= send_end]
        second_half = [(h, r / 1024) for t, h, r in sending if t >= send_end / 2]
        fit = slope([(float(h), r) for h, r in second_half])
        peak_kib = max((r for _, _, r in samples), default=0)
        ingest_eps = sent / (t_sent - t_start)
        e2e_eps = (head - head0) / (t_done - t_start)
        print()
        print(f"events sent            {sent:,}")
        print(f"events accepted        {accepted:,} (failed requests: {failed})")
        print(f"journal head           {head:,} (delta {head - head0:,})")
        behind = {name: s["position"] for name, s in status["subscribers"].items() if s["position"] != head}
        for name, s in sorted(status["subscribers"].items()):
            print(f"  {name:<20} position {s['position']:,}{'' if s['position'] == head else '  NOT AT HEAD'}"
                  f" (delivered {s['delivered']:,}, dead-lettered {s['dead_lettered']:,})")
        print(f"dead letters open      {status['dead_letters_open']}")
        lost = sent != accepted or accepted != head - head0 or bool(behind)
        why = f"no: sent {sent}, accepted {accepted}, head delta {head - head0}, behind {behind}"
        print(f"nothing lost           {why if lost else 'yes'}")
        print(f"peak RSS               {mb(peak_kib)} (sampled each second; VmHWM of the server "
              f"{mb(peak_hwm)}); baseline: {mb(idle_kib)} idle after start; target < 300 MiB")
        print(f"RSS at end of sending  {mb(sending[-1][2]) if sending else 'n/a'}; after delivery "
              f"{mb(samples[-1][2]) if samples else 'n/a'}")
        print("RSS slope, 2nd half    " + (
            f"{fit * 100_000:+.1f} MiB per 100k events ({len(second_half)} samples, least squares over "
            "journal head); target flat" if fit is not None else "n/a (too few samples)"))
        print(f"ingest                 {num(ingest_eps)} events/s over {t_sent - t_start:.1f} s; baseline: "
              f"raw SQLite executemany 1000 rows/commit {num(raw_rate)} rows/s "
              f"(ratio {ingest_eps / raw_rate:.2f})")
        print(f"ingest + delivery      {num(e2e_eps)} events/s end to end ({t_done - t_start:.1f} s, "
              f"delivery caught up {t_done - t_sent:.1f} s after the last event)")
        if len(samples) >= 2:
            step = max(1, len(samples) // 10)
            print("RSS over time          " + ", ".join(
                f"{t:.0f}s/{h // 1000}k/{r // 1024}M" for t, h, r in samples[::step]) + " (time/head/RSS)")
        if report.errors:
            print("\n" + "\n".join(report.errors), flush=True)
        if lost:
            print("!!! EVENTS LOST OR REFUSED", flush=True)
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
