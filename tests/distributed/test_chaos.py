"""Chaos: the API and three workers on PostgreSQL + NATS, with a real ERP simulator, under a steady
stream of events, while one worker is SIGKILLed, the ERP fails and hangs for a while, the NATS
server is restarted and PostgreSQL is restarted. At the end every event the API acknowledged with
202 (and every approval the workers read from the ERP's feed) has taken effect exactly once
(tally), no key's events were applied out of order (the bus's order witness, flows included), no
dead letters, and the ERP holds every posting the receipt flow made exactly once (erp_slice.py).

The stream: plant days of 12 plants (their POs approved nowhere, so the receipt flow only waits
for them) and, spread through it, two goods receipts for each of PW_CHAOS_ERP_POS purchase orders
(default one per 80 events) that exist in the ERP; the workers run the "receipt" flow
(`--erp URL --flows receipt`), which posts a goods receipt and an accounting document per receipt.
The other flows need the MES, WMS and supplier as well and would send some ten commands per order.

Sized for this machine (2 shared cores): a steady PW_CHAOS_RATE events/s (default 400) up to
PW_CHAOS_EVENTS events (default 50,000); about 3 minutes. Lower both on a slower or busier machine
(the checks do not depend on them). PW_CHAOS_FAULTS picks faults (default "kill,erp,nats,pg"):
leave out nats and pg while developing, they restart the machine's servers for everyone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import erp_slice
import httpx
import orjson
import psycopg
import pytest
from conftest import NATS_URL, START_NATS, drop_stream, ensure_nats
from pg import PgDatabase, ensure_server

from plantwire.clocks import SystemClock
from plantwire.domain.catalog import CATALOG
from plantwire.journal.postgres import PgTarget
from plantwire.journal.postgres_state import PostgresState
from plantwire.service.keys import ApiKeys
from plantwire.service.validation import validate_event
from plantwire.simulators.scenario import plant_day
from plantwire.simulators.testing import SimProcess, free_port

PLANTWIRE = str(Path(sys.executable).parent / "plantwire")
EVENTS = int(os.environ.get("PW_CHAOS_EVENTS", "50000"))
RATE = float(os.environ.get("PW_CHAOS_RATE", "400"))  # events/s offered to the API
ERP_POS = int(os.environ.get("PW_CHAOS_ERP_POS", str(EVENTS // 80)))
FAULTS = set(os.environ.get("PW_CHAOS_FAULTS", "kill,erp,nats,pg").split(","))
PLANTS = 12
PARTITIONS = 8
BATCH = 200
SUBSCRIBERS = ("inventory", "atp", "tally", "flow:receipt")

pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.timeout(1200)]


def say(text: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def chaos_events(total: int) -> list[dict[str, Any]]:
    """Plant days of 12 plants, interleaved one order at a time (as plants would send them), without
    their PO approvals: the receipt flow would post those POs' receipts to an ERP that has no such PO."""
    per_plant = total // (PLANTS * 8) + 1  # about 8.4 events per order: a little more, then cut
    days = [[unique_to_plant(e) for e in plant_day(plant=str(2000 + p), orders=per_plant, seed=p)
             if e["type"] != "procurement.po.approved"] for p in range(PLANTS)]
    out: list[dict[str, Any]] = []
    step = 10
    for i in range(0, max(len(d) for d in days), step):
        for d in days:
            out.extend(d[i:i + step])
    return out[:total]  # a prefix of each plant's day is still a consistent day


def unique_to_plant(event: dict[str, Any]) -> dict[str, Any]:
    """Each plant's day reuses order and PO numbers: make identities, keys and POs the plant's own
    (the receipt flow's instance is the PO: shared, plants' partitions would contend for it)."""
    plant = event["plant"]
    key = validate_event(event, CATALOG).envelope.partitionkey
    data = event["data"]
    if "po_number" in data:
        data = {**data, "po_number": f"{plant}-{data['po_number']}"}
    return {**event, "id": f"{plant}-{event['id']}", "partitionkey": f"{plant}:{key}", "data": data}


class Sender(threading.Thread):
    """Posts batches in order as fast as the API takes them; a batch is resent until it gets 202."""

    def __init__(self, base: str, token: str, events: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.events = base, token, events
        self.acked = 0
        self.last_202 = 0.0
        self.errors = 0
        self.failure: str | None = None

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}",
                   "content-type": "application/cloudevents-batch+json"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as client:
            t0 = time.monotonic()
            for i in range(0, len(self.events), BATCH):
                time.sleep(max(0.0, t0 + i / RATE - time.monotonic()))  # a steady stream, not a burst
                body = orjson.dumps(self.events[i:i + BATCH])
                while True:
                    try:
                        r = client.post("/v1/events", content=body)
                        if r.status_code == 202:
                            break
                        if r.status_code < 500:
                            self.failure = f"{r.status_code}: {r.text[:300]}"
                            return
                    except httpx.HTTPError:
                        pass
                    self.errors += 1
                    time.sleep(0.2)
                self.acked = i + len(self.events[i:i + BATCH])
                self.last_202 = time.monotonic()


class Cluster:
    """The API and the workers as real processes, with logs in tmp."""

    def __init__(self, tmp: Path, backend: str, bus: str, port: int,
                 worker_args: tuple[str, ...] = ()) -> None:
        self.tmp, self.backend, self.bus, self.port = tmp, backend, bus, port
        self.worker_args = worker_args
        self.workers: list[subprocess.Popen[bytes]] = []
        self.api: subprocess.Popen[bytes] | None = None

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115  (closed with the process)
        return subprocess.Popen([PLANTWIRE, *args, "--backend", self.backend, "--bus", self.bus,
                                 "--data-dir", str(self.tmp / name)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def start_api(self) -> None:
        self.api = self._spawn("api", "serve", "--no-worker", "--port", str(self.port))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"API did not come up: {(self.tmp / 'api.log').read_text()[-3000:]}")

    def start_worker(self) -> subprocess.Popen[bytes]:
        w = self._spawn(f"worker{len(self.workers)}", "worker", *self.worker_args)
        self.workers.append(w)
        return w

    def stop(self) -> None:
        for p in [*self.workers, *([self.api] if self.api else [])]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in [*self.workers, *([self.api] if self.api else [])]:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def sql_value(target: PgTarget, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """One value from PostgreSQL, or None while it is down."""
    try:
        with psycopg.connect(target.conninfo, connect_timeout=2, autocommit=True) as conn:
            row = conn.execute(sql.replace("KV", target.table("kv")), params).fetchone()
            return row[0] if row else None
    except psycopg.OperationalError:
        return None


def applied(target: PgTarget) -> int | None:
    return sql_value(target, "SELECT count(*) FROM KV WHERE ns = 'tally.events'")


def wait_for(cond: Any, timeout: float, every: float = 0.1) -> float:
    """Seconds until cond() is true (fails after timeout)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(every)
    raise AssertionError(f"not reached within {timeout}s: {getattr(cond, '__name__', cond)}")


def positions(target: PgTarget) -> tuple[dict[int, int], list[int]] | None:
    """The tally's position per partition and the relay's last seq published per partition (None
    while PostgreSQL is down)."""
    pos = sql_value(target, "SELECT json_object_agg(key, convert_from(value, 'UTF8')::json) FROM KV "
                            "WHERE ns = 'bus.pos:tally'")
    relay = sql_value(target, "SELECT convert_from(value, 'UTF8')::json FROM KV WHERE ns = 'bus.relay'")
    if pos is None or relay is None:
        return None
    return {int(k[1:]): int(v) for k, v in pos.items()}, [int(p) for p in relay["prev"]]


def partitions_resume(target: PgTarget, since: dict[int, int], parts: list[int],
                      timeout: float = 120) -> float:
    """Seconds until every partition in `parts` that carries events has delivered past its position
    in `since` (or caught up with the relay): delivery goes on everywhere, not just somewhere."""
    def moved() -> bool:
        now = positions(target)
        if now is None:
            return False
        pos, published = now
        return all(pos.get(k, 0) > since.get(k, 0) or pos.get(k, 0) >= published[k]
                   for k in parts if published[k] > 0)
    return wait_for(moved, timeout, 0.1)


def owned_by(target: PgTarget, prefix: str, member: str) -> list[int]:
    rows = sql_value(target, "SELECT json_object_agg(key, convert_from(value, 'UTF8')::json) FROM KV "
                             "WHERE ns = %s", (f"leases:{prefix}",)) or {}
    return sorted(int(k[1:]) for k, v in rows.items() if v.get("owner") == member)


def leases_retaken(target: PgTarget, prefix: str, dead: str, partitions: int) -> bool:
    rows = sql_value(target, "SELECT json_agg(convert_from(value, 'UTF8')::json) FROM KV WHERE ns = %s",
                     (f"leases:{prefix}",))
    if not rows or len(rows) < partitions:
        return False
    now = time.time()
    return all(r["owner"] not in (None, dead) and r["until"] > now for r in rows)


def worker_member(target: PgTarget, prefix: str, pid: int) -> str | None:
    return sql_value(target, "SELECT key FROM KV WHERE ns = %s AND key LIKE %s",
                     (f"members:{prefix}", f"%-{pid}-%"))


@pytest.fixture
def services() -> Iterator[tuple[PgDatabase, str, str]]:
    ensure_server()
    ensure_nats()
    db = PgDatabase()
    db.create()
    prefix = f"chaos{uuid.uuid4().hex[:8]}"
    bus = f"{NATS_URL}?prefix={prefix}&partitions={PARTITIONS}&order_check=1"
    try:
        yield db, bus, prefix
    finally:
        ensure_nats()
        ensure_server()
        drop_stream(bus)
        db.drop()


def restart_nats() -> float:
    """Stop and start the NATS server; returns seconds it was down."""
    t0 = time.monotonic()
    subprocess.run(["start-stop-daemon", "--stop", "--oknodo", "--retry", "10", "--exec",
                    "/usr/sbin/nats-server"], capture_output=True, timeout=60, check=False)
    subprocess.run(START_NATS, capture_output=True, timeout=30, check=False)
    ensure_nats()
    return time.monotonic() - t0


def restart_postgres() -> float:
    t0 = time.monotonic()
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   capture_output=True, timeout=120, check=False)
    ensure_server()
    return time.monotonic() - t0


@pytest.fixture
def chosen(request: pytest.FixtureRequest) -> None:
    """Restarting PostgreSQL and NATS would break whatever other tests run beside it under xdist:
    scripts/test runs this alone first (`-m chaos`) and the rest with `-m "not chaos"`."""
    if "chaos" not in (request.config.getoption("markexpr") or ""):
        pytest.fail("run the chaos test alone: pytest -m chaos tests/distributed")


@pytest.fixture
def erp(tmp_path: Path) -> Iterator[SimProcess]:
    """The ERP simulator as a process of its own (`plantwire sim erp`), its data in tmp."""
    sim = SimProcess("erp", tmp_path / "erp-sim" / "data").start()
    try:
        yield sim
    finally:
        sim.stop()


def test_chaos_every_acknowledged_event_applied_once_in_order(
        chosen: None, services: tuple[PgDatabase, str, str], erp: SimProcess, tmp_path: Path) -> None:
    db, bus, prefix = services
    target = db.target
    state = PostgresState(target)
    try:
        token = ApiKeys(state, SystemClock()).create("chaos")
    finally:
        state.close()
    pos = erp_slice.create_pos(erp.url, ERP_POS)
    events, firsts = erp_slice.mix(chaos_events(EVENTS - len(erp_slice.LINES) * len(pos)), pos)
    port = free_port()
    cluster = Cluster(tmp_path, db.url, bus, port, ("--erp", erp.url, "--flows", "receipt"))
    report: dict[str, str] = {}
    t_start = time.monotonic()
    sender = Sender(f"http://127.0.0.1:{port}", token, events)
    approver = erp_slice.Approver(erp.url, pos, firsts, lambda: sender.acked)
    try:
        cluster.start_api()
        for _ in range(3):
            cluster.start_worker()
        t_start = time.monotonic()
        sender.start()
        approver.start()
        report.update(inject_faults(cluster, sender, target, prefix, len(events), erp.url))
        say(f"faults done at {sender.acked} acked, {applied(target)} applied")
        sender.join(600)
        assert not sender.is_alive()
        assert sender.failure is None, sender.failure
        t_sent = time.monotonic() - t_start
        approver.join(60)
        assert approver.approved == len(pos), f"{approver.approved} of {len(pos)} POs approved"
        expected = len(events) + len(pos)
        drained = wait_for(lambda: applied(target) == expected, 300, 0.5)
        t_all = time.monotonic() - t_start
        report["events"] = (f"{len(events)} acknowledged (202) in {t_sent:.1f} s "
                            f"({len(events) / t_sent:.0f}/s ingest) and {len(pos)} PO approvals read "
                            f"from the ERP feed; all applied after {t_all:.1f} s ({drained:.1f} s after "
                            f"the last 202); {sender.errors} resends")
        posted = erp_slice.wait_posted(target, pos, 300)
        t_posted = time.monotonic() - t_start
        check_outcome(target, events, pos)
        report["ERP"] = erp_outcome(target, erp, pos, t_posted, posted)
        report["total"] = f"{time.monotonic() - t_start:.1f} s from the first event to the last check"
    finally:
        approver.stop.set()
        cluster.stop()
        print("\nCHAOS " + "\nCHAOS ".join(f"{k}: {v}" for k, v in report.items()))


def erp_outcome(target: PgTarget, erp: SimProcess, pos: list[erp_slice.Po], t_posted: float,
                posted: float) -> str:
    """Check the ERP's documents; say what they and the relay's retries were."""
    counts = erp_slice.check_erp(erp.data_dir / "erp.db", pos)
    outcome = erp_slice.flow_outcome(target, pos)
    raw = sql_value(target, "SELECT convert_from(value, 'UTF8') FROM KV WHERE ns = 'counters' "
                            "AND key = 'command-retries|erp'")
    retries = int(orjson.loads(raw)) if raw else 0
    replayed = httpx.get(f"{erp.url}/admin/counts", timeout=10).json()["replayed"]
    return (f"{len(pos)} POs, {outcome.posted} receipts posted as {counts['material']} goods receipts "
            f"and {counts['accounting']} accounting documents, each exactly once, all {t_posted:.1f} s "
            f"after the start ({posted:.1f} s after every event was applied); {retries} ERP calls "
            f"failed and retried later; the ERP found {sum(replayed.values())} postings already made "
            f"by their key ({replayed['material_documents']} goods receipts, "
            f"{replayed['accounting_documents']} accounting documents), {outcome.resent} of them "
            "recorded by the flow")


def inject_faults(cluster: Cluster, sender: Sender, target: PgTarget, prefix: str,
                  total: int, erp_url: str) -> dict[str, str]:
    out: dict[str, str] = {}
    wait_for(lambda: sender.failure is not None or (
        sender.acked >= total * 0.2 and (applied(target) or 0) >= total * 0.1), 300)
    assert sender.failure is None, sender.failure
    if "kill" in FAULTS:
        out["SIGKILL worker"] = kill_worker(cluster, sender, target, prefix)

    if "erp" in FAULTS:
        wait_for(lambda: sender.acked >= total * 0.3, 300)
        say(f"ERP failing and hanging at {sender.acked} acked, {applied(target)} applied")
        erp_slice.set_faults(erp_url, erp_slice.FAULTS)
        time.sleep(15)
        erp_slice.set_faults(erp_url, None)
        out["ERP faults"] = "15 s of 10 % of ERP calls answered 500 and 1 % answered only after 12 s"

    if "nats" in FAULTS:
        wait_for(lambda: sender.acked >= total * 0.45, 300)
        say(f"restarting NATS at {sender.acked} acked, {applied(target)} applied")
        down = restart_nats()
        since = (positions(target) or ({}, []))[0]  # what was fetched before goes on meanwhile
        resumed = partitions_resume(target, since, list(range(PARTITIONS)))
        out["NATS restart"] = f"server down and up in {down:.1f} s; every partition delivering again " \
                              f"{resumed:.1f} s after it was back"

    if "pg" in FAULTS:
        wait_for(lambda: sender.acked >= total * 0.7, 300)
        out["PostgreSQL restart"] = postgres_fault(sender, target, total)
    return out


def kill_worker(cluster: Cluster, sender: Sender, target: PgTarget, prefix: str) -> str:
    """SIGKILL the leader: with the partitions, the journal relay, the flows' command relay and
    timers move to another worker (a command it was sending is sent again, with the same key)."""
    leader = sql_value(target, "SELECT convert_from(value, 'UTF8')::json->>'owner' FROM KV "
                               "WHERE ns = %s AND key = 'p0000'", (f"leases:{prefix}",)) or ""
    victim = next((w for w in cluster.workers if f"-{w.pid}-" in leader and w.poll() is None),
                  cluster.workers[0])
    member = worker_member(target, prefix, victim.pid) or "?"
    held = owned_by(target, prefix, member)
    say(f"SIGKILL worker pid {victim.pid} ({member}, leader: {member == leader}, partitions {held}) at "
        f"{sender.acked} acked, {applied(target)} applied")
    since = (positions(target) or ({}, []))[0]
    t0 = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    took = wait_for(lambda: leases_retaken(target, prefix, member, PARTITIONS), 60)
    resumed = partitions_resume(target, since, held) + took
    cluster.start_worker()
    return (f"{'the leader' if member == leader else 'a worker'} (partitions {held}): re-leased by the "
            f"others {took:.1f} s after the kill, all of them delivering again {resumed:.1f} s after it "
            f"(took {time.monotonic() - t0:.1f} s in all)")


def postgres_fault(sender: Sender, target: PgTarget, total: int) -> str:
    before_202 = sender.last_202
    since = (positions(target) or ({}, []))[0]
    say(f"restarting PostgreSQL at {sender.acked} acked, {applied(target)} applied")
    down = restart_postgres()
    t0 = time.monotonic()
    ingest = wait_for(lambda: sender.last_202 > t0 or sender.acked >= total, 90)
    resumed = partitions_resume(target, since, list(range(PARTITIONS)))
    return (f"restart took {down:.1f} s; first 202 {ingest:.1f} s after it was back (last 202 before: "
            f"{t0 - before_202:.1f} s before); every partition delivering again {resumed:.1f} s after "
            "it was back")


def check_outcome(target: PgTarget, events: list[dict[str, Any]], pos: list[erp_slice.Po]) -> None:
    state = PostgresState(target)
    try:
        with state.transaction() as tx:
            tally = {k: Decimal(str(v)) for k, v in tx.scan("tally.events")}
            stats = dict(tx.scan("stats"))
            letters = tx.scan("dlq")
    finally:
        state.close()
    ids = {f"{e['source']}\x1f{e['id']}" for e in events} | {erp_slice.approval_id(po) for po in pos}
    assert set(tally) == ids, f"missing {len(ids - set(tally))}, unexpected {len(set(tally) - ids)}"
    twice = {k: v for k, v in tally.items() if v != 1}
    assert not twice, f"{len(twice)} events applied more than once: {list(twice.items())[:5]}"
    violations = {k: v for k, v in stats.items() if k.endswith("order_violations") and Decimal(str(v))}
    assert not violations, f"per-key order broken: {violations}"
    assert letters == [], f"dead letters: {letters[:3]}"
    print(f"\nCHAOS outcome: {len(tally)} events applied exactly once; per-key order witness: 0 "
          f"violations over {len(SUBSCRIBERS)} subscribers; 0 dead letters")
