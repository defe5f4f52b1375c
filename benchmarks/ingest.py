"""Ingest benchmark: the hub's HTTP ingest, group commit and replay, each next to a raw baseline.

    .venv/bin/python benchmarks/ingest.py [--quick] [--delivery after|thread|process]
                                          [--ingest-processes N] [--keep DIR]

Every figure is printed next to a baseline measured in the same run, as a ratio:

(a) single-event durable ingest: 32 keep-alive senders POST one structured CloudEvent each to a real
    `plantwire serve` (pinned to core 0; the load generator, benchmarks/loadgen.py, on core 1), vs a
    no-op ASGI app (benchmarks/noop_asgi.py) under the same uvicorn settings, core and load. Commits
    are counted from the journal itself: the hub stamps every row of one append (one transaction,
    one fsync) with the same ``recorded_at``, so ``COUNT(DISTINCT recorded_at)`` over the rows of a
    phase is the number of commits. Next to it, a raw SQLite rate of one fsync'd single-row commit
    per event (same schema, INSERT, WAL and synchronous=FULL) on the same disk.
(b) batched ingest over HTTP (100 and 1000 events per request, 4 senders) vs raw SQLite executemany
    of the same rows (the canonical bodies the hub stores) in transactions of the same size.
(c) `Replayer.replay("inventory")` over the journal this run produced vs a raw SELECT body +
    orjson.loads of the same rows; peak RSS of the server and of the replay process.
(d) (a) and (b) again against `serve --ingest-processes 2`, not pinned: the hub as it would run on
    this 2-core machine (the raw insert baseline is one SQLite writer either way).

(e) delivery: by default (a), (b) and (d) measure ingest alone (`serve --no-worker`); afterwards a
    `plantwire worker` on the server's core delivers the whole journal to the three read models, timed.
    `--delivery thread` delivers in a thread of the pinned server during the load (taking CPU from
    ingest); `--delivery process` in serve's child worker process, on any core.

Each baseline is measured twice, before and after the hub's phases, and the better of the two
counts (a baseline slowed by a neighbour would flatter the hub). Timings are printed, never
asserted. The script exits non-zero only when a request failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import marshal
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from plantwire.bootstrap import JOURNAL_FILE
from plantwire.domain.catalog import CATALOG
from plantwire.journal.sqlite import INSERT, JOURNAL_SCHEMA
from plantwire.processes import stop_process
from plantwire.service.bodies import BATCH, STRUCTURED
from plantwire.service.validation import validate_event
from plantwire.simulators.scenario import plant_day

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
PLANTWIRE = str(Path(sys.executable).parent / "plantwire")
SENDERS = 32
BATCH_SENDERS = 4


@dataclass(frozen=True)
class Sizes:
    """How long and how much each phase runs (every load loop is bounded in count and time)."""

    warmup: int
    single_seconds: float
    single_max: int
    noop_seconds: float
    batch_seconds: float
    batch_max_events: int
    fsync_seconds: float
    raw_batch_rows: int
    catch_up_seconds: float


QUICK = Sizes(warmup=300, single_seconds=3.0, single_max=20_000, noop_seconds=3.0, batch_seconds=2.5,
              batch_max_events=40_000, fsync_seconds=1.0, raw_batch_rows=20_000, catch_up_seconds=8.0)
DEFAULT = Sizes(warmup=2000, single_seconds=15.0, single_max=150_000, noop_seconds=10.0,
                batch_seconds=10.0, batch_max_events=300_000, fsync_seconds=5.0,
                raw_batch_rows=200_000, catch_up_seconds=60.0)


# ----------------------------------------------------------------------------- events and requests

class Events:
    """An endless plant day (one big `plant_day`), ids suffixed with this run's tag."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._it: Iterator[dict[str, Any]] = plant_day(orders=10_000_000)
        self._next: dict[str, Any] | None = None

    def take(self, n: int) -> list[dict[str, Any]]:
        """The next n events (whole orders or not)."""
        return [e for order in self.orders(n) for e in order][:n]

    def orders(self, n: int) -> list[list[dict[str, Any]]]:
        """Whole production orders (each begins with its PO approval) holding at least n events."""
        out: list[list[dict[str, Any]]] = []
        count = 0
        while count < n:
            order = [self._pull()]
            while self._peek()["type"] != "procurement.po.approved":
                order.append(self._pull())
            out.append(order)
            count += len(order)
        return out

    def _peek(self) -> dict[str, Any]:
        if self._next is None:
            self._next = next(self._it)
            self._next["id"] = f"{self._next['id']}~{self.tag}"
        return self._next

    def _pull(self) -> dict[str, Any]:
        e = self._peek()
        self._next = None
        return e


def per_sender(orders: list[list[dict[str, Any]]], senders: int) -> list[list[dict[str, Any]]]:
    """Orders dealt round-robin to senders; each sender sends its orders' events in order."""
    return [[e for order in orders[s::senders] for e in order] for s in range(senders)]


def request_bytes(port: int, token: str, content_type: str, body: bytes) -> bytes:
    """One complete HTTP/1.1 request to POST /v1/events."""
    return (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def single_requests(port: int, token: str, streams: list[list[dict[str, Any]]]) -> list[list[bytes]]:
    """Per sender: one structured-mode request per event."""
    return [[request_bytes(port, token, STRUCTURED, orjson.dumps(e)) for e in events] for events in streams]


def batch_requests(port: int, token: str, streams: list[list[dict[str, Any]]], size: int
                   ) -> list[list[bytes]]:
    """Per sender: batch-mode requests of exactly `size` events (a short tail is left out)."""
    return [[request_bytes(port, token, BATCH, orjson.dumps(events[i : i + size]))
             for i in range(0, len(events) - size + 1, size)] for events in streams]


# ----------------------------------------------------------------------------- processes

def free_children(pid: int, cores: set[int]) -> None:
    """Let serve's child processes (the delivery worker) run on any core; the API stays pinned."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            os.sched_setaffinity(int(child), cores)


def pin(core: int) -> list[str]:
    """A taskset prefix pinning a command to one core, when the machine has two or more."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int, field_name: str) -> int:
    """A /proc/PID/status figure in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class Server:
    """A server process we started; stopped with SIGINT (graceful), then SIGKILL if it hangs."""

    def __init__(self, cmd: list[str], port: int, log: Path, health: str, token: str | None = None) -> None:
        self.port, self.log, self.token = port, log, token
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10.0)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited at start ({self.proc.returncode}):\n{log.read_text()}")
            try:
                if self.http.get(health).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"server did not answer within 30 s:\n{log.read_text()}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> int:
        self.http.close()
        code = stop_process(self.proc, signal.SIGINT, 15)
        self._log_file.close()
        return code or 0


@dataclass
class Load:
    """One load run's result, as the load generator reported it, plus the server's CPU use."""

    requests: int
    events_per_request: int
    elapsed: float
    p50: float
    p99: float
    error_count: int
    errors: list[str]
    statuses: dict[str, int]
    loadgen_cpu: float
    server_cpu: float
    exhausted: bool
    accepted: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    @property
    def eps(self) -> float:
        return self.rps * self.events_per_request


@dataclass
class Report:
    """Everything printed at the end."""

    lines: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def row(self, figure: str, hub: str, baseline: str, ratio: str, target: str = "") -> None:
        self.lines.append((figure, hub, baseline, ratio, target))


def run_load(work: Path, port: int, requests: list[list[bytes]], seconds: float,
             per_request: int, server_pid: int, label: str, report: Report) -> Load:
    """Run the load generator (its own process, on core 1) and collect its figures."""
    req_file, spec_file = work / f"{label}.requests", work / f"{label}.json"
    with req_file.open("wb") as f:
        marshal.dump(requests, f)
    spec_file.write_text(json.dumps({"port": port, "requests": str(req_file),
                                     "max_seconds": seconds}))
    cpu0 = cpu_seconds(server_pid)
    done = subprocess.run([*pin(1), PYTHON, str(HERE / "loadgen.py"), str(spec_file)],
                          capture_output=True, text=True, timeout=seconds + 120)
    cpu1 = cpu_seconds(server_pid)
    req_file.unlink()
    if done.returncode != 0:
        raise SystemExit(f"load generator failed ({done.returncode}):\n{done.stderr}")
    out = json.loads(done.stdout)
    load = Load(out["completed"], per_request, out["elapsed"], out["p50"], out["p99"], out["error_count"],
                out["errors"], out["statuses"], out["loadgen_cpu"],
                (cpu1 - cpu0) / out["elapsed"] if out["elapsed"] else 0.0, out["exhausted"],
                out.get("accepted", 0))
    if load.error_count:
        msg = (f"!!! {label}: {load.error_count} FAILED REQUESTS of {out['sent']} "
               f"(statuses {load.statuses}); first: {load.errors[:3]}")
        print(msg, flush=True)
        report.errors.append(msg)
    return load


# ----------------------------------------------------------------------------- raw SQLite baselines

def raw_rows(events: list[dict[str, Any]], n: int) -> list[tuple[Any, ...]]:
    """n journal rows exactly as the hub builds them (canonical body, digest); ids made unique."""
    pend = [validate_event(e, CATALOG) for e in events]
    now = time.time()
    rows = []
    for k in range(n):
        p = pend[k % len(pend)]
        env = p.envelope
        rows.append((env.source, f"{env.id}#{k}", env.type, env.partitionkey, now, p.digest, p.body))
    return rows


def raw_db(work: Path, name: str) -> sqlite3.Connection:
    path = work / name
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(JOURNAL_SCHEMA)
    return conn


def raw_commit_rate(work: Path, rows: list[tuple[Any, ...]], batch: int, seconds: float,
                    run: str = "") -> tuple[float, int]:
    """Rows/s inserting `batch` rows per BEGIN IMMEDIATE..COMMIT (one fsync each) into a new file;
    bounded by rows and time."""
    conn = raw_db(work, f"raw-{batch}{run}.db")
    done = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while done + batch <= len(rows) and time.perf_counter() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows[done : done + batch])
        conn.execute("COMMIT")
        done += batch
    elapsed = time.perf_counter() - t0
    conn.close()
    return done / elapsed, done


# ----------------------------------------------------------------------------- the hub's journal

class JournalProbe:
    """Read-only look at the hub's journal: head, and commits counted by distinct recorded_at."""

    def __init__(self, data_dir: Path) -> None:
        self.conn = sqlite3.connect(f"file:{data_dir / JOURNAL_FILE}?mode=ro", uri=True)

    def head(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()[0])

    def commits(self, after: int, upto: int) -> tuple[int, int]:
        """(rows, commits) in a seq range: each append stamps all its rows with one recorded_at."""
        rows, commits = self.conn.execute(
            "SELECT count(*), count(DISTINCT recorded_at) FROM journal WHERE seq > ? AND seq <= ?",
            (after, upto)).fetchone()
        return int(rows), int(commits)


def metric_commits(server: Server) -> tuple[int, int] | None:
    """(commits, committed rows) from the hub's /metrics, when it exports them."""
    try:
        text = server.http.get("/metrics").text
    except httpx.HTTPError:
        return None
    found = {}
    for line in text.splitlines():
        for name in ("plantwire_journal_commits_total", "plantwire_journal_committed_events_total"):
            if line.startswith(name + " "):
                found[name] = int(float(line.split()[1]))
    if len(found) != 2:
        return None
    return found["plantwire_journal_commits_total"], found["plantwire_journal_committed_events_total"]


def cross_check(label: str, before: tuple[int, int] | None, after: tuple[int, int] | None,
                rows: int, commits: int, report: Report) -> str:
    """The hub's own commit counters over a phase, checked against the count from the journal."""
    if before is None or after is None:
        return "hub /metrics has no commit counters"
    m_commits, m_rows = after[0] - before[0], after[1] - before[1]
    if (m_commits, m_rows) != (commits, rows):
        report.errors.append(f"!!! {label}: /metrics says {m_rows} rows in {m_commits} commits, "
                             f"the journal says {rows} rows in {commits} commits")
    return f"/metrics agrees: {m_rows} rows in {m_commits} commits"


def wait_delivery(server: Server, seconds: float) -> int:
    """Wait (bounded) until every subscriber has caught up with the journal; returns the lag left."""
    deadline = time.monotonic() + seconds
    lag = -1
    while time.monotonic() < deadline:
        status = server.http.get("/v1/status").json()
        lag = max(s["lag"] for s in status["subscribers"].values())
        if lag == 0:
            return 0
        time.sleep(0.2)
    return lag


# ----------------------------------------------------------------------------- phases

def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def num(x: float) -> str:
    return f"{x:,.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def phase_noop(work: Path, warm: list[list[bytes]], reqs: list[list[bytes]], sizes: Sizes,
               report: Report) -> Load:
    port = free_port()
    cmd = [*pin(0), PYTHON, "-m", "uvicorn", "noop_asgi:app", "--app-dir", str(HERE), "--host", "127.0.0.1",
           "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
           "--log-level", "warning", "--workers", "1"]
    server = Server(cmd, port, work / "noop.log", "/")
    try:
        run_load(work, port, warm, 10, 1, server.pid, "noop-warmup", report)
        # the no-op app does not care about ids: cycle each sender's request bytes for the whole window
        per = int(sizes.noop_seconds * 100_000 / len(reqs))
        cycled = [list(itertools.islice(itertools.cycle(r), per)) for r in reqs]
        load = run_load(work, port, cycled, sizes.noop_seconds, 1, server.pid, "noop", report)
    finally:
        server.stop()
    return load


def phase_delivery(hub: Server, data_dir: Path, work: Path, sizes: Sizes, report: Report
                   ) -> tuple[int, float]:
    """A `plantwire worker` on the server's core delivers the whole journal to the three read
    models (the hub, idle now, answers /v1/status); returns (entries, seconds)."""
    head = int(hub.http.get("/v1/status").json()["journal_head"])
    log = (work / "worker.log").open("wb")
    t0 = time.perf_counter()
    worker = subprocess.Popen([*pin(0), PLANTWIRE, "worker", "--data-dir", str(data_dir)],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        lag = wait_delivery(hub, sizes.catch_up_seconds * 3)
        seconds = time.perf_counter() - t0
    finally:
        stop_process(worker, signal.SIGINT, 15)
        log.close()
    if lag:
        report.errors.append(f"!!! delivery did not catch up: {lag} entries left; see {work / 'worker.log'}")
    print(f"delivery after ingest: {head} entries to 3 read models in {seconds:.1f} s "
          f"({num(head / seconds)} entries/s, worker on the server's core, start-up included)", flush=True)
    return head, seconds


@dataclass
class Spread:
    """The (d) run: the hub with several ingest processes, free to use every core."""

    processes: int
    single: Load
    batch: Load
    batch_rows: int
    batch_commits: int


def phase_spread(work: Path, events: Events, sizes: Sizes, processes: int, report: Report,
                 apart: bool) -> Spread:
    """Single events and batches of 1000 against `serve --ingest-processes N` (not pinned; delivery
    in its child worker), on a data directory of its own."""
    data_dir = work / f"hub-{processes}-processes"
    token = subprocess.run([PLANTWIRE, "keys", "create", "bench", "-d", str(data_dir)],
                           capture_output=True, text=True, check=True).stdout.strip().split()[-1]
    port = free_port()
    warm = single_requests(port, token, per_sender(events.orders(sizes.warmup), SENDERS))
    single = single_requests(port, token, per_sender(events.orders(sizes.single_max), SENDERS))
    b1000 = batch_requests(port, token, per_sender(events.orders(sizes.batch_max_events), BATCH_SENDERS),
                           1000)
    cmd = [PLANTWIRE, "serve", "--data-dir", str(data_dir), "--port", str(port),
           "--ingest-processes", str(processes), *(["--no-worker"] if apart else [])]
    hub = Server(cmd, port, work / f"hub-{processes}.log", "/healthz", token)
    probe = JournalProbe(data_dir)
    try:
        run_load(work, port, warm, 30, 1, hub.pid, f"spread{processes}-warmup", report)
        one = run_load(work, port, single, sizes.single_seconds, 1, hub.pid, f"spread{processes}-single",
                       report)
        h0 = probe.head()
        batch = run_load(work, port, b1000, sizes.batch_seconds, 1000, hub.pid, f"spread{processes}-batch",
                         report)
        rows, commits = probe.commits(h0, probe.head())
    finally:
        probe.conn.close()
        hub.stop()
    return Spread(processes, one, batch, rows, commits)


def main() -> int:  # noqa: C901 - one straight script, phase after phase
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (< 60 s), for the smoke test")
    parser.add_argument("--delivery", choices=("after", "thread", "process"), default="after",
                        help="after (default): ingest alone (serve --no-worker), then a `plantwire worker` "
                             "on the server's core delivers the whole journal, timed; thread: delivery in "
                             "a thread of the pinned server; process: in serve's child worker (any core)")
    parser.add_argument("--keep", type=Path, help="keep the hub's data directory here")
    parser.add_argument("--ingest-processes", type=int, default=2,
                        help="for (d): `serve --ingest-processes N`, not pinned (1 skips it)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else DEFAULT
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="plantwire-bench-"))
    data_dir = args.keep or work / "hub"
    if data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(f"{data_dir} is not empty")
    report = Report()
    tag = uuid.uuid4().hex[:8]
    events = Events(tag)
    pinned = bool(pin(0))
    print(f"plantwire ingest benchmark ({'quick' if args.quick else 'default'}), run {tag}; "
          f"server on core 0, load generator on core 1: {'yes' if pinned else 'no (taskset missing)'}; "
          f"delivery: {args.delivery}; "
          f"data in {work}",
          flush=True)
    try:
        # ---- raw SQLite baselines (this process pinned to the server's core) -----------------------
        all_cores = os.sched_getaffinity(0)
        if pinned:
            os.sched_setaffinity(0, {0})
        sample = events.take(5000)
        rows = raw_rows(sample, sizes.raw_batch_rows)
        fsync_rate, fsync_n = raw_commit_rate(work, rows, 1, sizes.fsync_seconds)
        raw100, raw100_n = raw_commit_rate(work, rows, 100, sizes.batch_seconds)
        raw1000, raw1000_n = raw_commit_rate(work, rows, 1000, sizes.batch_seconds)
        os.sched_setaffinity(0, all_cores)
        print(f"raw SQLite (WAL, synchronous=FULL, journal schema): 1 row/commit {num(fsync_rate)} rows/s "
              f"({fsync_n} commits); 100 rows/commit {num(raw100)} rows/s; 1000 rows/commit {num(raw1000)} "
              f"rows/s", flush=True)

        # ---- prebuilt requests -----------------------------------------------------------------------
        token = subprocess.run([PLANTWIRE, "keys", "create", "bench", "-d", str(data_dir)],
                               capture_output=True, text=True, check=True).stdout.strip().split()[-1]
        port = free_port()
        warm = single_requests(port, token, per_sender(events.orders(sizes.warmup), SENDERS))
        single = single_requests(port, token, per_sender(events.orders(sizes.single_max), SENDERS))
        senders = per_sender(events.orders(sizes.batch_max_events), BATCH_SENDERS)
        b100 = batch_requests(port, token, senders, 100)
        b1000 = batch_requests(port, token, per_sender(events.orders(sizes.batch_max_events), BATCH_SENDERS),
                               1000)

        # ---- (a) baseline: no-op ASGI app, same uvicorn settings, core and load -----------------
        noop = phase_noop(work, warm, single, sizes, report)
        print(f"no-op ASGI: {num(noop.rps)} req/s, p50 {ms(noop.p50)}, p99 {ms(noop.p99)} "
              f"(server core {noop.server_cpu:.0%}, load generator core {noop.loadgen_cpu:.0%})", flush=True)

        # ---- the hub ---------------------------------------------------------------------------------
        cmd = [*pin(0), PLANTWIRE, "serve", "--data-dir", str(data_dir), "--port", str(port)]
        apart = args.delivery == "after"
        cmd.append({"after": "--no-worker", "thread": "", "process": "--worker-process"}[args.delivery])
        hub = Server([c for c in cmd if c], port, work / "hub.log", "/healthz", token)
        if pinned and args.delivery == "process":
            free_children(hub.pid, all_cores)  # delivery runs in serve's child worker, off the API's core
        probe = JournalProbe(data_dir)
        try:
            run_load(work, port, warm, 30, 1, hub.pid, "hub-warmup", report)
            if not apart:
                wait_delivery(hub, sizes.catch_up_seconds)
            h0, m0 = probe.head(), metric_commits(hub)
            one = run_load(work, port, single, sizes.single_seconds, 1, hub.pid, "single", report)
            h1, m1 = probe.head(), metric_commits(hub)
            one_rows, one_commits = probe.commits(h0, h1)
            check = cross_check("single", m0, m1, one_rows, one_commits, report)
            lag = "later" if apart else wait_delivery(hub, sizes.catch_up_seconds)
            print(f"hub single-event: {num(one.rps)} req/s, p50 {ms(one.p50)}, p99 {ms(one.p99)}; "
                  f"{one_rows} rows in {one_commits} commits (server core {one.server_cpu:.0%}, "
                  f"load generator core {one.loadgen_cpu:.0%}; delivery lag after: {lag}; {check})",
                  flush=True)
            batches = {}
            for size, reqs in ((100, b100), (1000, b1000)):
                h0, m0 = probe.head(), metric_commits(hub)
                load = run_load(work, port, reqs, sizes.batch_seconds, size, hub.pid,
                                f"batch{size}", report)
                h1, m1 = probe.head(), metric_commits(hub)
                rows_n, commits = probe.commits(h0, h1)
                check = cross_check(f"batch{size}", m0, m1, rows_n, commits, report)
                lag = "later" if apart else wait_delivery(hub, sizes.catch_up_seconds)
                batches[size] = (load, rows_n, commits)
                print(f"hub batch {size}: {num(load.eps)} events/s ({num(load.rps)} req/s, "
                      f"p50 {ms(load.p50)}, "
                      f"p99 {ms(load.p99)}); {rows_n} rows in {commits} commits (server core "
                      f"{load.server_cpu:.0%}; delivery lag after: {lag}; {check})", flush=True)
            server_peak = proc_status(hub.pid, "VmHWM")
            delivered = phase_delivery(hub, data_dir, work, sizes, report) if apart else None
        finally:
            probe.conn.close()
            code = hub.stop()
        if code not in (0, -signal.SIGINT):
            report.errors.append(f"!!! the hub exited with {code}; see {work / 'hub.log'}")

        # ---- (d) several ingest processes, every core ---------------------------------------------
        spread = phase_spread(work, events, sizes, args.ingest_processes, report,
                                                                   args.delivery == "after") if (
            args.ingest_processes > 1) else None
        if spread is not None:
            print(f"hub with {spread.processes} ingest processes: single-event {num(spread.single.rps)} req/s"
                  " "
                  f"(p50 {ms(spread.single.p50)}, p99 {ms(spread.single.p99)}); batch 1000 "
                  f"{num(spread.batch.eps)} events/s; {spread.batch_rows} rows in {spread.batch_commits} "
                  "commits", flush=True)

        # ---- the baselines again: a ratio is only as good as its baseline on a shared machine, so
        # each counts at the better of its two measurements (before and after the hub's phases)
        if pinned:
            os.sched_setaffinity(0, {0})
        again = [raw_commit_rate(work, rows, n, sizes.batch_seconds, "-again")[0] for n in (100, 1000)]
        os.sched_setaffinity(0, all_cores)
        noop_again = phase_noop(work, warm, single, sizes, report)
        print(f"baselines again: raw 100 rows/commit {num(again[0])} rows/s, 1000 rows/commit "
              f"{num(again[1])} rows/s; no-op ASGI {num(noop_again.rps)} req/s (each ratio uses the better "
              "of the two)", flush=True)
        raw100, raw1000 = max(raw100, again[0]), max(raw1000, again[1])
        noop = max(noop, noop_again, key=lambda load: load.rps)

        # ---- (c) replay, in its own process on the server's core ------------------------------------
        done = subprocess.run([*pin(0), PYTHON, str(HERE / "replay_probe.py"), str(data_dir)],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"replay probe failed:\n{done.stderr}")
        rp = json.loads(done.stdout)
        replay_eps = rp["replayed"] / rp["replay_seconds"] if rp["replay_seconds"] else 0.0
        raw_read_eps = rp["raw_rows"] / rp["raw_seconds"] if rp["raw_seconds"] else 0.0
        if rp["selected"] + rp["skipped_held"] != rp["raw_rows"]:
            report.errors.append(f"!!! replay selected {rp['selected']} + {rp['skipped_held']} held entries, "
                                 f"the raw read saw {rp['raw_rows']}")

        # ---- the table ------------------------------------------------------------------------------
        r = report
        r.row("(a) single-event ingest, req/s", num(one.rps), f"{num(noop.rps)} no-op ASGI",
              ratio(one.rps, noop.rps), ">= 0.5")
        r.row("(a) single-event latency p50 / p99", f"{ms(one.p50)} / {ms(one.p99)}",
              f"{ms(noop.p50)} / {ms(noop.p99)} no-op", "", "")
        r.row("(a) events per commit (fsync)", f"{one_rows / max(one_commits, 1):.1f}",
              "1.0 one commit per event", "", "")
        r.row("(a) durable events/s vs 1 fsync'd commit/event", num(one.eps),
              f"{num(fsync_rate)} raw SQLite", ratio(one.eps, fsync_rate), "> 1")
        for size, (load, rows_n, commits) in batches.items():
            raw = raw100 if size == 100 else raw1000
            r.row(f"(b) batch {size}, events/s", num(load.eps), f"{num(raw)} raw executemany",
                  ratio(load.eps, raw), ">= 0.5")
            r.row(f"(b) batch {size}, events per commit", f"{rows_n / max(commits, 1):.0f}",
                  f"{size} raw", "", "")
        if spread is not None:
            n = spread.processes
            r.row(f"(d) {n} ingest processes, single-event req/s", num(spread.single.rps),
                  f"{num(noop.rps)} no-op ASGI (1 core)", ratio(spread.single.rps, noop.rps), "")
            r.row(f"(d) {n} ingest processes, batch 1000 events/s", num(spread.batch.eps),
                  f"{num(raw1000)} raw executemany", ratio(spread.batch.eps, raw1000), ">= 0.5")
        if delivered is not None:
            rate = delivered[0] / delivered[1]
            r.row("(e) delivery of the journal, entries/s", num(rate),
                  f"{num(replay_eps)} replay of inventory alone", ratio(rate, replay_eps), "")
        r.row("(c) replay inventory, events/s", num(replay_eps), f"{num(raw_read_eps)} raw read+loads",
              ratio(replay_eps, raw_read_eps), "")
        r.row("(c) peak RSS, server / replay", f"{server_peak / 1024:.0f} MiB",
              f"{rp['peak_kib'] / 1024:.0f} MiB replay", "", "")
        print()
        print(f"journal: {rp['journal_head']} events; replayed {rp['replayed']} inventory entries "
              f"({rp['skipped_held']} held) in {rp['replay_seconds']:.2f} s; raw read of the same rows "
              f"{rp['raw_seconds']:.3f} s; replay RSS before {rp['rss_before_kib'] / 1024:.0f} MiB"
              f"{'' if rp['peak_reset'] else ' (peak not reset: includes the raw read)'}")
        print("commits are counted from the journal: one append = one transaction = one fsync, and all "
              "rows of an append share one recorded_at")
        widths = [max(len(x[i]) for x in [("figure", "hub", "baseline", "ratio", "target"), *r.lines])
                  for i in range(5)]
        print()
        for line in [("figure", "hub", "baseline", "ratio", "target"), *r.lines]:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        print(f"\nwall time {time.perf_counter() - started:.0f} s")
        if report.errors:
            print("\n" + "\n".join(report.errors), flush=True)
            print(f"!!! {len(report.errors)} PROBLEM(S): the figures above are not trustworthy", flush=True)
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
