"""`plantwire demo`: the hub between four simulated systems, through a plant's day with faults, and
the proof that nothing was lost or posted twice.

Demo v2 (the default) starts the ERP, MES, WMS and supplier simulators and `plantwire serve` pointed
at them, runs a plant's day through the simulators (`simulators.plantday`) while faults hit: a 5xx
rate on the ERP, every simulator event also pushed by webhook (duplicated and reordered) through a
relay into the hub's ingest, and the ERP down for a few seconds. It then waits for the flows to
settle and prints events per type, flows, exceptions, retries, dead letters and a reconciliation of
ERP stock, WMS stock and the hub's projection. Exit code 1 if anything was lost or posted twice.

`--hub-only` is the first demo: a hub alone, a day of canonical events over HTTP with resends and a
broken event, and the count of what became of them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from plantwire.adapters.sim_erp import mapping as erp_map
from plantwire.adapters.sim_erp.translate import translate_event as erp_translate
from plantwire.adapters.sim_mes.mapping import MesMapping
from plantwire.adapters.sim_mes.translate import translate_event as mes_translate
from plantwire.adapters.sim_supplier.mapping import SupplierMapping
from plantwire.adapters.sim_supplier.translate import translate_event as supplier_translate
from plantwire.adapters.sim_wms import mapping as wms_map
from plantwire.adapters.sim_wms.translate import translate_event as wms_translate
from plantwire.cli.common import console
from plantwire.errors import PermanentError
from plantwire.journal.codec import load_value
from plantwire.processes import stop_process
from plantwire.projections import tally
from plantwire.simulators.plantday import DayReport, PlantDay, SimUrls
from plantwire.simulators.scenario import EVENTS_PER_ORDER, plant_day
from plantwire.simulators.testing import SimProcess, free_port

BATCH = "application/cloudevents-batch+json"
SINGLE = "application/cloudevents+json"
SYSTEMS = ("erp", "mes", "wms", "supplier")
Json = dict[str, Any]


def _script() -> str:
    return str(Path(sys.executable).parent / "plantwire")


def _healthy(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{what} did not answer /healthz within {timeout:.0f} s")


def api_key(data_dir: Path, name: str = "demo") -> str:
    """A fresh API key in the hub's data directory (before the hub starts)."""
    from plantwire.bootstrap import Settings, bootstrap

    hub = bootstrap(Settings(data_dir=data_dir))
    try:
        return hub.keys.create(f"{name}-{time.time_ns()}")
    finally:
        hub.close()


# -- the stack: four simulators and a hub wired to them --------------------------------------------
class Stack:
    """Four simulator processes and one `plantwire serve --erp .. --mes .. --wms .. --supplier ..`."""

    def __init__(self, root: Path, hub_port: int = 0) -> None:
        self.root = root
        self.sims = {s: SimProcess(s, root / "sims" / s) for s in SYSTEMS}
        self.data_dir = root / "hub"
        self.port = hub_port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.hub: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.hub_starts = 0

    @property
    def urls(self) -> SimUrls:
        """The simulators' base URLs."""
        return SimUrls(**{s: p.url for s, p in self.sims.items()})

    def start(self) -> Stack:
        """Simulators first, then the hub."""
        for sim in self.sims.values():
            sim.start()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.token = api_key(self.data_dir)
        self.start_hub()
        return self

    def start_hub(self) -> None:
        """`plantwire serve` on the data directory, polling the four simulators."""
        args = [_script(), "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        for s, p in self.sims.items():
            args += [f"--{s}", p.url]
        with open(self.root / "hub.log", "ab") as log:
            self.hub = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.hub_starts += 1
        _healthy(self.url, self.hub, "hub")

    def kill_hub(self) -> None:
        """SIGKILL the hub: no shutdown, whatever was in flight stays in flight."""
        if self.hub is not None and self.hub.poll() is None:
            self.hub.send_signal(signal.SIGKILL)
            self.hub.wait(30)

    def stop_hub(self) -> None:
        """SIGTERM and wait."""
        if self.hub is not None:
            stop_process(self.hub, timeout=15)

    def close(self) -> None:
        """Stop everything."""
        self.stop_hub()
        for sim in self.sims.values():
            sim.kill()

    def client(self) -> httpx.Client:
        """The hub's API with the key."""
        return httpx.Client(base_url=self.url, timeout=30, headers={"authorization": f"Bearer {self.token}"})

    def sim(self, system: str) -> httpx.Client:
        """A client on one simulator."""
        return self.sims[system].client()

    def state(self, ns: str, prefix: str = "") -> list[tuple[str, Any]]:
        """The hub's state namespace, read-only (safe beside a running hub: SQLite WAL readers)."""
        conn = sqlite3.connect(f"file:{self.data_dir / 'state.db'}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("SELECT key, value FROM kv WHERE ns = ? AND substr(key, 1, ?) = ? "
                                "ORDER BY key", (ns, len(prefix), prefix)).fetchall()
        finally:
            conn.close()
        return [(k, load_value(v)) for k, v in rows]

    def faults(self, system: str, **settings: Any) -> None:
        """Replace a simulator's fault settings."""
        with self.sim(system) as c:
            c.put("/admin/faults", json=settings).raise_for_status()


# -- webhooks, duplicated and reordered, relayed into the hub's ingest ------------------------------
TRANSLATE: dict[str, Callable[[Json], list[Json]]] = {
    "erp": lambda e: erp_translate(e, erp_map.ErpMapping()),
    "mes": lambda e: mes_translate(e, MesMapping()),
    "wms": lambda e: wms_translate(e, wms_map.WmsMapping()),
    "supplier": lambda e: supplier_translate(e, SupplierMapping()),
}


class WebhookRelay:
    """Receives the simulators' webhooks (a second channel beside the hub's feed pollers), translates
    them with the same adapters and posts them to the hub; a push the hub did not take gets a 503 so
    the simulator pushes it again. Counts what it relayed."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.counts = stack, Counter[str]()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self, duplicate: float = 0.3, reorder: int = 6) -> WebhookRelay:
        """Subscribe to every simulator's events, with duplicates and reordering injected."""
        self.thread.start()
        port = self.server.server_address[1]
        for s in SYSTEMS:
            with self.stack.sim(s) as c:
                c.post("/admin/webhooks", json={"url": f"http://127.0.0.1:{port}/{s}", "max_attempts": 20})
        for s in ("mes", "wms", "supplier"):
            self.stack.faults(s, duplicate_webhook_rate=duplicate, reorder_window=reorder, seed=11)
        return self

    def close(self) -> None:
        """Stop receiving."""
        self.server.shutdown()
        self.server.server_close()

    def relay(self, system: str, envelope: Json) -> int:
        """Translate and ingest one pushed event; the HTTP status to answer the simulator with."""
        try:
            events = TRANSLATE[system](envelope)
        except PermanentError:
            with self.lock:
                self.counts["untranslatable"] += 1
            return 200  # the feed poller quarantines it with the reasons
        if not events:
            return 200
        try:
            with self.stack.client() as c:
                resp = c.post("/v1/events", content=json.dumps(events), headers={"content-type": BATCH})
        except httpx.TransportError:
            return 503
        with self.lock:
            self.counts["pushes"] += 1
            for r in resp.json().get("results", []) if resp.status_code < 500 else []:
                self.counts[r["status"]] += 1
        return 200 if resp.status_code < 500 else 503

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                status = relay.relay(self.path.strip("/"), body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        return Handler


# -- settling, auditing, reconciling ---------------------------------------------------------------
def settled(stack: Stack) -> bool:
    """Every feed read to its head, every event delivered, no command or stage task outstanding."""
    heads = {}
    for s in SYSTEMS:
        with stack.sim(s) as c:
            resp = c.get("/healthz")
            if resp.status_code != 200:
                return False
            heads[s] = resp.json()["head"]
        with stack.sim("wms") as c:
            if any(k.endswith(":OPEN") and n for k, n in c.get("/admin/counts").json()["tasks"].items()):
                return False
    marks = dict(stack.state("watermark"))
    if any(int(marks.get(f"sim-{s}", 0)) < heads[s] for s in SYSTEMS):
        return False
    with stack.client() as c:
        status = c.get("/v1/status").json()
    if any(s["lag"] or s["retrying"] for s in status["subscribers"].values()):
        return False
    return not stack.state("outbox")


def wait_settled(stack: Stack, timeout: float = 120.0) -> float:
    """Wait until `settled` holds twice in a row; the seconds it took."""
    started = deadline = time.monotonic()
    deadline += timeout
    hits = 0
    while hits < 2:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the hub did not settle within {timeout:.0f} s")
        try:
            hits = hits + 1 if settled(stack) else 0
        except (httpx.HTTPError, sqlite3.OperationalError):
            hits = 0
        time.sleep(0.2)
    return time.monotonic() - started


@dataclass
class Audit:
    """Expected ERP and WMS effects of the day against what the systems hold: lost and doubled."""

    expected: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)

    def expect(self, what: str, key: str, seen: Counter[str]) -> None:
        """One effect must exist exactly once in `seen` under `key`."""
        self.expected[what] += 1
        n = seen[key]
        self.found[what] += min(n, 1)
        if n == 0:
            self.lost.append(f"{what} {key}")
        elif n > 1:
            self.doubled.append(f"{what} {key} x{n}")


def audit(stack: Stack, day: DayReport) -> Audit:
    """Each MES message, receipt line, staging task and the hold against the documents they caused."""
    a = Audit()
    with stack.sim("erp") as erp:
        docs = erp.get("/api/goods-movements").json()["DOCUMENTS"]
        acc = erp.get("/api/accounting-documents").json()["DOCUMENTS"]
        counts = erp.get("/admin/counts").json()
    texts = Counter(d["HEADER_TXT"] for d in docs if not d["REVERSAL_OF"])
    for ref, n in {**counts["material_documents"]["by_reference"],
                   **counts["accounting_documents"]["by_reference"]}.items():
        if n > 1:
            a.doubled.append(f"ERP reference {ref} x{n}")
    for msg in day.consumptions:
        a.expect("goods issue (261)", f"MES consumption {msg['messageId']}", texts)
    for msg in day.reports:
        if msg["goodQty"] > 0:
            a.expect("order receipt (101)", f"MES completion {msg['messageId']}", texts)
    po_lines = Counter(f"{i['EBELN']}/{i['EBELP']}" for d in docs if not d["REVERSAL_OF"]
                       for i in d["ITEMS"] if i["BWART"] == "101" and i["EBELN"])
    fi = Counter(d["MBLNR"] for d in acc)
    po_gr = {f"{i['EBELN']}/{i['EBELP']}": d["MBLNR"] for d in docs for i in d["ITEMS"]
             if i["BWART"] == "101" and i["EBELN"]}
    for receipt in day.receipts:
        for line in receipt["lines"]:
            key = f"{receipt['poNumber']}/{line['poLine']}"
            a.expect("PO goods receipt (101)", key, po_lines)
            a.expect("financial posting", po_gr.get(key, "-"), fi)
    _audit_wms(stack, day, a, texts)
    if day.hold:
        a.expect("quality block (344)", f"quality hold {day.hold['data']['hold_id']}", texts)
    return a


def _audit_wms(stack: Stack, day: DayReport, a: Audit, texts: Counter[str]) -> None:
    """Staging tasks against transfers, completions against put-aways."""
    with stack.sim("wms") as wms:
        tasks = wms.get("/api/tasks").json()["tasks"]
    for task in tasks:
        if task["type"] == "STAGE" and task["status"] == "CONFIRMED":
            a.expect("staging transfer (311)", f"transfer {task['taskId']}", texts)
    putaways = Counter(t["orderRef"] for t in tasks if t["type"] == "PUTAWAY")
    good = Counter(m["erpOrderNumber"] for m in day.reports if m["goodQty"] > 0)
    for order, n in good.items():
        a.expected["put-away (WMS)"] += n
        a.found["put-away (WMS)"] += min(n, putaways[order])
        if putaways[order] != n:
            (a.lost if putaways[order] < n else a.doubled).append(
                f"put-away of order {order}: {putaways[order]} for {n} completions")


def _wms_location(hu: Json) -> str:
    aisle = hu["bin"].split("-")[0]
    return wms_map.BIN_AISLES[aisle]


def reconcile(stack: Stack) -> list[Json]:
    """Stock per item, location and lot in the ERP, the WMS and the hub's projection.

    The ERP and the projection must agree everywhere. The WMS agrees in the stores it runs (RM01,
    FG01); at the line side (PR01) it holds what it staged and never hears what the MES consumed (no
    system tells it), so there WMS = ERP + consumed, and the row says so."""
    golden_of = {v: k for k, v in erp_map.ITEMS.items()}
    sku_of = {v: k for k, v in wms_map.ITEMS.items()}
    rows: dict[tuple[str, str, str], Json] = {}

    def row(item: str, loc: str, lot: str) -> Json:
        zero = {k: Decimal(0) for k in ("erp", "wms", "hub", "consumed", "erp_blocked", "wms_blocked")}
        return rows.setdefault((item, loc, lot), {"item": item, "location": loc, "lot": lot, **zero})

    with stack.sim("erp") as erp:
        for s in erp.get("/api/stock").json()["STOCK"]:
            r = row(golden_of[s["MATNR"]], s["LGORT"], s["CHARG"])
            r["erp"] += Decimal(s["LABST"]) + Decimal(s["SPEME"]) + Decimal(s["INSME"])
            r["erp_blocked"] += Decimal(s["SPEME"])
        for d in erp.get("/api/goods-movements", params={"BWART": "261"}).json()["DOCUMENTS"]:
            for i in d["ITEMS"]:
                row(golden_of[i["MATNR"]], i["LGORT"], i["CHARG"])["consumed"] += Decimal(i["ERFMG"])
    with stack.sim("wms") as wms:
        for hu in wms.get("/api/stock").json()["handlingUnits"]:
            r = row(sku_of[hu["sku"]], _wms_location(hu), hu["lot"] or "")
            r["wms"] += Decimal(str(hu["qty"]))
            r["wms_blocked"] += Decimal(str(hu["qty"])) if hu["status"] == "HOLD" else 0
    with stack.client() as c:
        for key, value in c.get("/v1/inventory").json()["on_hand"].items():
            _, item, loc, lot, _ = key.split("|")
            row(item, loc, lot)["hub"] += Decimal(value)
    out = []
    for r in sorted(rows.values(), key=lambda r: (r["location"], r["item"], r["lot"])):
        if not any(r[k] for k in ("erp", "wms", "hub")):
            continue
        wms_expected = r["erp"] + r["consumed"] if r["location"] == "PR01" else r["erp"]
        r["agree"] = (r["erp"] == r["hub"] and r["wms"] == wms_expected
                      and r["erp_blocked"] == r["wms_blocked"])
        out.append(r)
    return out


# -- demo v2 ----------------------------------------------------------------------------------------
@contextmanager
def _faulty_day(stack: Stack, erp_down: float) -> Iterator[Callable[[str, int, int], None]]:
    """Faults that start with the day and an ERP outage half-way through the production orders."""
    stack.faults("erp", error_rate=0.1, seed=5)
    fired: set[str] = set()

    def on_progress(stage: str, done: int, total: int) -> None:
        if stage == "production orders" and done >= total // 2 and "down" not in fired:
            fired.add("down")
            stack.faults("erp", error_rate=0.1, seed=5, down_seconds=erp_down)

    yield on_progress
    for s in SYSTEMS:
        stack.faults(s)


def _journaled(stack: Stack) -> Callable[[str], bool]:
    """Whether the hub has journaled an event of a type (the plant day waits on it)."""
    def seen(type_: str) -> bool:
        try:
            with stack.client() as c:
                return bool(c.get("/v1/events", params={"type": type_, "limit": 1}).json()["events"])
        except (httpx.TransportError, ValueError, KeyError):
            return False
    return seen


def _post_quality(stack: Stack) -> Callable[[Json], None]:
    def post(event: Json) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                with stack.client() as c:
                    if c.post("/v1/events", json=event, headers={"content-type": SINGLE}).status_code < 300:
                        return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the hub did not take the quality hold")
            time.sleep(0.2)
    return post


def summary(stack: Stack, relay: WebhookRelay, a: Audit, recon: list[Json], seconds: float) -> None:
    """The closing tables."""
    by_type: Counter[str] = Counter()
    for key, count in stack.state(tally.TYPES):  # kept per type and plant (no row all workers write)
        by_type[key.partition(tally.SEP)[0]] += int(count)
    flows: Counter[str] = Counter()
    for name in ("release", "consumption", "completion", "po-ack", "supply-delay", "receipt",
                 "quality-hold", "transfer"):
        for _, inst in stack.state(f"flow:{name}"):
            flows[f"{name}: {inst['status']}" + (f" ({inst['outcome']})" if inst.get("outcome") else "")] += 1
    with stack.client() as c:
        exceptions = c.get("/v1/exceptions", params={"status": None}).json()["exceptions"]
        status = c.get("/v1/status").json()
    left = Table(title="events per type", show_header=False)
    for t, n in sorted(by_type.items()):
        left.add_row(t, str(n))
    mid = Table(title="flows and exceptions", show_header=False)
    for k, n in sorted(flows.items()):
        mid.add_row(k, str(n))
    for kind, n in sorted(Counter(e["kind"] for e in exceptions).items()):
        mid.add_row(f"[yellow]exception {kind}[/]", str(n))
    delivered = sum(s["delivered"] for s in status["subscribers"].values())
    mid.add_row("deliveries / DLQ open", f"{delivered} / {status['dead_letters_open']}")
    mid.add_row("webhooks relayed (dup/reordered)", f"{relay.counts['pushes']} "
                f"({relay.counts['duplicate']} duplicate)")
    retries = _retries(stack)
    mid.add_row("command retries", ", ".join(f"{k} {n}" for k, n in sorted(retries.items())) or "0")
    console.print(left, mid)
    proof = Table("effect", "expected", "found once", title="postings")
    for what in a.expected:
        proof.add_row(what, str(a.expected[what]), str(a.found[what]))
    proof.add_row("[bold]lost[/]", "", f"[bold {'red' if a.lost else 'green'}]{len(a.lost)}[/]")
    proof.add_row("[bold]doubled[/]", "", f"[bold {'red' if a.doubled else 'green'}]{len(a.doubled)}[/]")
    console.print(proof)
    stock = Table("location", "item", "lots", "ERP", "WMS", "hub", "agree", title="stock reconciliation")
    grouped: dict[tuple[str, str], list[Json]] = {}
    for r in recon:
        grouped.setdefault((r["location"], r["item"]), []).append(r)
    for (loc, item), rs in grouped.items():
        total = {k: sum((r[k] for r in rs), Decimal(0))
                 for k in ("erp", "wms", "hub", "consumed", "erp_blocked")}
        used = f" ({total['consumed'].normalize():f} used)" if total["consumed"] else ""
        blocked = f" ({total['erp_blocked'].normalize():f} blocked)" if total["erp_blocked"] else ""
        agree = all(r["agree"] for r in rs)
        stock.add_row(loc, item, str(len(rs)), f"{total['erp'].normalize():f}{blocked}",
                      f"{total['wms'].normalize():f}{used}",
                      f"{total['hub'].normalize():f}", "[green]yes[/]" if agree else "[red]NO[/]")
    console.print(stock)
    console.print(f"day settled in {seconds:.0f} s; {len(a.lost)} lost, {len(a.doubled)} doubled, "
                  f"{sum(not r['agree'] for r in recon)} stock rows disagree")


def _retries(stack: Stack) -> Counter[str]:
    """Command retries the hub scheduled, per target system (the relay's counters)."""
    return Counter({k.split("|", 1)[1]: int(v) for k, v in stack.state("counters", "command-retries|")})


def run_demo_v2(orders: int, port: int, keep: Path | None, erp_down: float = 4.0) -> int:
    """Demo v2; exit code 0 when nothing was lost or doubled and the stock agrees."""
    tmp = None if keep else tempfile.TemporaryDirectory(prefix="plantwire-demo-")
    root = keep or Path(tmp.name)  # type: ignore[union-attr]
    stack = Stack(root, port)
    relay: WebhookRelay | None = None
    try:
        console.print(f"starting ERP, MES, WMS and supplier simulators and a hub on {stack.url} ({root})")
        stack.start()
        relay = WebhookRelay(stack).start()
        started = time.monotonic()
        with _faulty_day(stack, erp_down) as faults, Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=console) as progress:
            tasks: dict[str, Any] = {}

            def show(stage: str, done: int, total: int) -> None:
                faults(stage, done, total)
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=total)
                progress.update(tasks[stage], completed=done)

            day = PlantDay(stack.urls, orders=orders, quality=_post_quality(stack), progress=show,
                           journaled=_journaled(stack))
            try:
                report = day.run()
            finally:
                day.close()
        wait_settled(stack)
        seconds = time.monotonic() - started
        a, recon = audit(stack, report), reconcile(stack)
        summary(stack, relay, a, recon, seconds)
        return 1 if a.lost or a.doubled or not all(r["agree"] for r in recon) else 0
    finally:
        if relay is not None:
            relay.close()
        stack.close()
        if tmp is not None:
            tmp.cleanup()


# -- the hub-only demo (v1) ---------------------------------------------------------------------------
def day_with_trouble(events: int, seed: int = 7) -> list[Json]:
    """The plant's day plus a broken event, a consumption from an empty location, and resends."""
    rng = random.Random(seed)
    day = list(plant_day("1000", max(2, events // EVENTS_PER_ORDER), seed))
    consumptions = [e for e in day if e["type"] == "production.component.consumed"]
    consumptions[len(consumptions) // 2]["data"]["storage_location"] = "RM99"
    broken = dict(day[3], id=day[3]["id"] + "/typo")
    broken["data"] = {**broken["data"], "quantity": {"value": "12,5", "uom": ""}}
    day.insert(len(day) // 3, broken)
    resends = [dict(e) for e in rng.sample(day, len(day) // 10)]
    for e in resends:
        day.insert(min(len(day), day.index(e) + rng.randint(1, 20)), e)
    return day


def send_all(client: httpx.Client, day: list[Json], progress: Progress) -> Counter[str]:
    """ERP and WMS events in batches of up to 25, MES and others one by one, in order."""
    task = progress.add_task("sending events", total=len(day))
    counts: Counter[str] = Counter()
    i = 0
    while i < len(day):
        src = day[i]["source"]
        j = i + 1
        if src.startswith(("erp/", "wms/")):
            while j < len(day) and j - i < 25 and day[j]["source"] == src:
                j += 1
        chunk = day[i:j]
        resp = client.post("/v1/events", content=json.dumps(chunk), headers={"content-type": BATCH})
        counts["requests"] += 1
        for r in resp.json().get("results", []):
            counts[r["status"]] += 1
            if r["status"] in ("accepted", "duplicate"):
                counts["acked:" + r["source"] + "\x1f" + r["id"]] = 1
        i = j
        progress.advance(task, len(chunk))
    return counts


def journal_identities(client: httpx.Client) -> set[str]:
    """Every (source, id) in the journal, paged through the API."""
    found: set[str] = set()
    after = 0
    while True:
        page = client.get("/v1/events", params={"after": after, "limit": 1000}).json()["events"]
        if not page:
            return found
        found.update(e["event"]["source"] + "\x1f" + e["event"]["id"] for e in page)
        after = page[-1]["seq"]


def run_hub_only(events: int, port: int, keep: Path | None) -> int:
    """The hub-only demo; exit code 0 when nothing was lost."""
    tmp = None if keep else tempfile.TemporaryDirectory(prefix="plantwire-demo-")
    data_dir = keep or Path(tmp.name)  # type: ignore[union-attr]
    token = api_key(data_dir)
    port = port or free_port()
    console.print(f"starting hub on http://127.0.0.1:{port} with data in {data_dir}")
    proc = subprocess.Popen([_script(), "serve", "--data-dir", str(data_dir), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _healthy(f"http://127.0.0.1:{port}", proc, "hub")
        day = day_with_trouble(events)
        started = time.monotonic()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"authorization": f"Bearer {token}"}) as client:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as progress:
                counts = send_all(client, day, progress)
            deadline = time.monotonic() + 60
            while True:
                st = client.get("/v1/status").json()
                if all(s["lag"] == 0 and s["retrying"] == 0 for s in st["subscribers"].values()) \
                        or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            seconds = time.monotonic() - started
            lost = len({k[6:] for k in counts if k.startswith("acked:")} - journal_identities(client))
            table = Table(title="plantwire demo --hub-only: plant 1000, one day")
            table.add_column("what")
            table.add_column("count", justify="right")
            rows = [("events sent (incl. resends)", len(day)), ("HTTP requests", counts["requests"]),
                    ("accepted into the journal", counts["accepted"]),
                    ("duplicates dropped (resends)", counts["duplicate"]),
                    ("rejected with 422 (bad data)", counts["rejected"])]
            rows += [(f"delivered to {n}", s["delivered"]) for n, s in st["subscribers"].items()]
            rows += [("dead-lettered", sum(s["dead_lettered"] for s in st["subscribers"].values())),
                     ("held behind a dead letter", sum(s["blocked"] for s in st["subscribers"].values())),
                     ("lost", lost)]
            for what, n in rows:
                table.add_row(what, f"[bold {'red' if n else 'green'}]{n}[/]" if what == "lost" else str(n))
            console.print(table)
            console.print(f"{len(day)} events in {seconds:.1f} s ({len(day) / seconds:.0f} events/s, each "
                          "fsync'd before its 202)")
            for d in client.get("/v1/dead-letters").json()["dead_letters"]:
                console.print(f"[yellow]dead letter {d['id']}[/] ({d['subscriber']}, {d['type']} "
                              f"{d['source']} {d['event_id']}): {d['error_message']}; "
                              f"holding up {d['blocking']} later event(s) of key {d['key']}")
        return 0 if lost == 0 else 1
    finally:
        stop_process(proc)
        if tmp is not None:
            tmp.cleanup()


def run_demo(events: int, port: int, keep: Path | None, hub_only: bool = False, orders: int = 40) -> int:
    """`plantwire demo`: v2 against the simulators, or the hub-only demo."""
    if hub_only:
        return run_hub_only(events, port, keep)
    return run_demo_v2(orders, port, keep)
