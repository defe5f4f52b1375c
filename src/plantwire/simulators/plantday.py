"""A plant's day, driven through the simulators' own APIs: what the people and machines of plant 1000
do, while a hub (or nothing) keeps the systems in sync.

The buyer creates and approves purchase orders in the ERP; the supplier acknowledges them by its
rules (one part changed in quantity, one moved in date, one rejected); the warehouse receives what
was confirmed against the POs; the planner creates and releases production orders in the ERP; the
line runs each order whose material reached the line side in the MES (a partial report, then a
final one, some with scrap); the supplier announces a shipment delay; quality holds one finished lot.

The driver only calls simulator endpoints, never the hub. Where a step waits for the plant to be
ready (material received, staged, at the line) it looks at the systems a person would look at: the
ERP's documents, the WMS's tasks, the MES's work orders. Quality has no simulator: the hold notice is
a canonical CloudEvent handed to the caller's `quality` callback (a QMS would post it to the hub).
Deterministic for a seed: the same seed makes the same orders, POs, quantities, scrap and hold.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx

Json = dict[str, Any]

VENDOR = "0000100200"
"""The supplier portal's vendor number in the ERP (ACME Components)."""

MATERIALS: dict[str, dict[str, str]] = {
    "10000100": {"golden": "FG-PUMP-100", "mes": "P-7731", "sku": "SKU-10100"},
    "10000200": {"golden": "FG-PUMP-200", "mes": "P-7732", "sku": "SKU-10200"},
    "20000011": {"golden": "RM-HOUSING-A", "mes": "P-1001", "sku": "SKU-20011", "part": "HSG-A1"},
    "20000027": {"golden": "RM-IMPELLER-7", "mes": "P-1002", "sku": "SKU-20027", "part": "IMP-7"},
    "20000035": {"golden": "RM-SEAL-KIT", "mes": "P-1003", "sku": "SKU-20035", "part": "SEAL-9"},
    "20000042": {"golden": "RM-MOTOR-2KW", "mes": "P-1004", "sku": "SKU-20042", "part": "MOT-2K"},
    "20000058": {"golden": "RM-BOLT-M8", "mes": "P-1005", "sku": "SKU-20058", "part": "BOLT-M8"},
}
"""The ids each system knows a material by (docs/simulators.md, "Identifiers across the systems")."""

BOMS: dict[str, dict[str, int]] = {
    "10000100": {"20000011": 1, "20000027": 1, "20000058": 8},
    "10000200": {"20000011": 1, "20000042": 1, "20000035": 1},
}
"""The ERP's seeded bills of material (per piece)."""

PRICES = {"20000011": "12.50", "20000027": "31.00", "20000035": "4.20", "20000042": "180.00",
          "20000058": "0.08"}

SUPPLIER_RULES: Json = {
    "ackDelaySeconds": 0.3, "default": "accept", "autoShipSeconds": None,
    "parts": {"BOLT-M8": {"action": "change", "factor": 0.9, "reason": "pack size"},
              "IMP-7": {"action": "change", "shiftDays": 2, "reason": "capacity"},
              "SEAL-9": {"action": "reject", "reason": "discontinued"}},
}
"""How the supplier answers: bolts cut to 90 %, impellers two days later, seal kits refused."""


def component_lot(matnr: str) -> str:
    """The supplier lot a raw material is received under: the MES's default lot for the part, so the
    lot the MES reports consuming is the lot the ERP and the WMS hold."""
    return f"SUPLOT-{MATERIALS[matnr]['mes']}"


@dataclass(frozen=True)
class SimUrls:
    """Base URLs of the four simulators."""

    erp: str
    mes: str
    wms: str
    supplier: str


@dataclass(frozen=True)
class DayPlan:
    """What the day will hold, decided up front from the seed."""

    orders: list[tuple[str, int]]
    """(finished MATNR, quantity) per production order."""
    pos: list[dict[str, int]]
    """Per purchase order: component MATNR -> quantity."""
    runs: list[tuple[int, int]]
    """Per order: (good quantity of the partial report, scrap on the final report)."""
    hold: int
    """Index of the run order whose finished lot quality holds."""
    delay_po: int
    """Index of the PO whose shipment the supplier delays."""


def plan_day(orders: int = 12, seed: int = 7) -> DayPlan:
    """The day's orders, POs (one per four orders, 20 % above need) and runs; pure."""
    rng = random.Random(seed)
    # every sixth order makes a CP-200, whose seal kits the supplier refuses: it stays short
    made = [("10000200" if n % 6 == 2 else "10000100", rng.randint(4, 12)) for n in range(orders)]
    pos: list[dict[str, int]] = []
    for start in range(0, orders, 4):
        need: Counter[str] = Counter()
        for matnr, qty in made[start:start + 4]:
            for comp, per in BOMS[matnr].items():
                need[comp] += per * qty
        pos.append({comp: math.ceil(n * 1.2) for comp, n in sorted(need.items())})
    runs = [(qty // 2, 1 if rng.random() < 0.3 else 0) for _, qty in made]
    pumps = [n for n, (m, _) in enumerate(made) if m == "10000100"]
    return DayPlan(made, pos, runs, hold=rng.choice(pumps) if pumps else 0,
                   delay_po=rng.randrange(len(pos)) if pos else 0)


@dataclass
class DayReport:
    """What the day did, in the systems' own numbers, for the checks that follow."""

    plan: DayPlan
    pos: list[str] = field(default_factory=list)
    receipts: list[Json] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    run: list[str] = field(default_factory=list)
    short: list[str] = field(default_factory=list)
    lots: dict[str, str] = field(default_factory=dict)
    consumptions: list[Json] = field(default_factory=list)
    reports: list[Json] = field(default_factory=list)
    hold: Json | None = None
    delay: Json | None = None
    acks: dict[str, Json] = field(default_factory=dict)


class NotReady(TimeoutError):
    """The plant did not reach the state a step waits for in time (the hub is behind or stuck)."""


class PlantDay:
    """Runs one day through the simulators; `progress(stage, done, total)` reports how far."""

    def __init__(self, urls: SimUrls, orders: int = 12, seed: int = 7,
                 quality: Callable[[Json], None] | None = None,
                 progress: Callable[[str, int, int], None] | None = None, wait: float = 90.0,
                 journaled: Callable[[str], bool] | None = None) -> None:
        self.urls, self.plan, self.seed = urls, plan_day(orders, seed), seed
        self.quality, self.wait, self.journaled = quality, wait, journaled
        self.staged: dict[str, bool | None] = {}
        self.progress = progress or (lambda stage, done, total: None)
        self.http = {name: httpx.Client(base_url=getattr(urls, name), timeout=10.0)
                     for name in ("erp", "mes", "wms", "supplier")}
        self.report = DayReport(self.plan)

    def close(self) -> None:
        """Release connections."""
        for client in self.http.values():
            client.close()

    def run(self) -> DayReport:
        """The whole day, stage by stage."""
        self.setup()
        self.purchase()
        self.receive()
        self.release()
        self.wait_staged()
        self.delay_shipment()
        self.produce()
        self.hold_lot()
        return self.report

    # -- HTTP ------------------------------------------------------------------------------------
    def call(self, system: str, method: str, path: str, **kwargs: Any) -> Any:
        """A simulator call that rides out injected faults (5xx, outages) like a patient user."""
        deadline = time.monotonic() + self.wait
        while True:
            try:
                resp = self.http[system].request(method, path, **kwargs)
                if resp.status_code < 500:
                    resp.raise_for_status()
                    return resp.json()
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise NotReady(f"{system} {method} {path} kept failing for {self.wait:.0f}s")
            time.sleep(0.1)

    def until(self, what: str, check: Callable[[], bool]) -> None:
        """Poll `check` until it holds; NotReady after `wait` seconds."""
        deadline = time.monotonic() + self.wait
        while not check():
            if time.monotonic() > deadline:
                raise NotReady(f"plant day: gave up waiting for {what} after {self.wait:.0f}s")
            time.sleep(0.1)

    def counts(self, system: str) -> Json:
        """GET /admin/counts (never faulted)."""
        result: Json = self.call(system, "GET", "/admin/counts")
        return result

    # -- stages ----------------------------------------------------------------------------------
    def setup(self) -> None:
        """Supplier rules and quick warehouse task confirmation."""
        self.call("supplier", "PUT", "/admin/rules", json=SUPPLIER_RULES)
        self.call("wms", "PUT", "/admin/settings", json={"autoConfirmSeconds": 0.2})

    def purchase(self) -> None:
        """Create and approve the POs in the ERP; the hub sends them to the supplier."""
        for n, need in enumerate(self.plan.pos):
            items = [{"MATNR": m, "MENGE": q, "NETPR": PRICES[m], "MEINS": "ST", "LGORT": "RM01"}
                     for m, q in need.items()]
            po = self.call("erp", "POST", "/admin/purchase-orders",
                           json={"LIFNR": VENDOR, "ITEMS": items, "APPROVE": True})
            self.report.pos.append(po["EBELN"])
            self.progress("purchase orders", n + 1, len(self.plan.pos))

    def _ack(self, po: str) -> Json | None:
        resp = self.http["supplier"].get(f"/api/purchase-orders/{po}")
        if resp.status_code != 200:
            return None
        ack: Json | None = resp.json().get("acknowledgment")
        return ack

    def _acked(self, po: str) -> bool:
        return self._ack(po) is not None

    def _recorded(self, po: str, ack: Json) -> bool:
        """Whether the ERP PO shows every changed or rejected line of the acknowledgment."""
        erp_po = self.call("erp", "GET", f"/api/purchase-orders/{po}")
        items = {int(i["EBELP"]): i["CONF_STATUS"] for i in erp_po["ITEMS"]}
        return all(items.get(int(ln["lineNo"])) == ln["status"]
                   for ln in ack["lines"] if ln["status"] != "ACCEPTED")

    def receive(self) -> None:
        """Receive what the supplier confirmed, once the ERP shows the confirmation (the buyer's
        signal that the PO is settled); then wait for the ERP to post every receipt."""
        lines = 0
        for n, po in enumerate(self.report.pos):
            self.until(f"the supplier's acknowledgment of PO {po}", partial(self._acked, po))
            ack = self._ack(po) or {}
            self.report.acks[po] = ack
            self.until(f"the ERP to record the acknowledgment of PO {po}", partial(self._recorded, po, ack))
            erp_po = self.call("erp", "GET", f"/api/purchase-orders/{po}")
            matnr = {int(i["EBELP"]): i["MATNR"] for i in erp_po["ITEMS"]}
            got = [{"lineNo": k + 1, "poLine": ln["lineNo"], "sku": MATERIALS[matnr[ln["lineNo"]]]["sku"],
                    "qty": ln["confirmedQuantity"], "uom": "EA", "lot": component_lot(matnr[ln["lineNo"]])}
                   for k, ln in enumerate(ack["lines"]) if ln["status"] != "REJECTED"]
            if got:
                receipt = self.call("wms", "POST", "/api/receipts", json={"poNumber": po, "lines": got},
                                    headers={"Idempotency-Key": f"plantday-{self.seed}-{po}"})
                self.report.receipts.append(receipt)
                lines += len(got)
            self.progress("goods receipts", n + 1, len(self.report.pos))
        self.until("the ERP to post every goods receipt",
                   lambda: self.counts("erp")["accounting_documents"]["total"] >= lines)

    def release(self) -> None:
        """Create and release the production orders; the hub stages them and downloads them."""
        for n, (matnr, qty) in enumerate(self.plan.orders):
            order = self.call("erp", "POST", "/admin/production-orders",
                              json={"MATNR": matnr, "GAMNG": qty, "RELEASE": True})
            self.report.orders.append(order["AUFNR"])
            self.progress("production orders", n + 1, len(self.plan.orders))

    def delay_shipment(self) -> None:
        """The supplier moves one PO line's date (its first, accepted or changed, line)."""
        po = self.report.pos[self.plan.delay_po]
        lines = [ln for ln in self.report.acks[po]["lines"] if ln["status"] != "REJECTED"]
        if lines:
            self.report.delay = self.call("supplier", "POST", f"/admin/purchase-orders/{po}/delay",
                                          json={"lineNo": lines[0]["lineNo"], "reason": "carrier capacity"})
            if self.journaled is not None:  # the orders it delays are open: none has run yet
                journaled = self.journaled
                self.until("the hub to journal the shipment delay",
                           lambda: journaled("procurement.shipment.delayed"))

    def _staged(self, aufnr: str, matnr: str, qty: int) -> bool | None:
        """True when every component is on confirmed stage tasks, False when the order is short
        (staging asked for less than the requirement), None while the hub has not acted yet."""
        wo = self.http["mes"].get(f"/api/v1/work-orders/{aufnr}")
        if wo.status_code != 200:
            return None
        tasks = self.call("wms", "GET", "/api/tasks", params={"orderRef": aufnr})["tasks"]
        staged: Counter[str] = Counter()
        for task in tasks:
            staged[task["sku"]] += task["qty"]
        need = {MATERIALS[c]["sku"]: per * qty for c, per in BOMS[matnr].items()}
        if any(staged[sku] < n for sku, n in need.items()):
            return False
        return True if all(task["status"] == "CONFIRMED" for task in tasks) else None

    def wait_staged(self) -> None:
        """Until the hub has acted on every release: each order in the MES, staged or short."""
        state = self.staged

        def settled() -> bool:
            for aufnr, (matnr, qty) in zip(self.report.orders, self.plan.orders, strict=True):
                if state.get(aufnr) is not True:
                    state[aufnr] = self._staged(aufnr, matnr, qty)
            return all(v is not None for v in state.values())

        self.until("every order downloaded to the MES and staged (or short)", settled)

    def produce(self) -> None:
        """Run every fully staged order in the MES once the ERP shows its material at the line."""
        state = self.staged
        # short orders stay put: a partial staging is final for the day (nothing else arrives)
        runnable = [n for n, a in enumerate(self.report.orders) if state[a]]
        self.report.short = [a for a in self.report.orders if not state[a]]
        tasks = self.counts("wms")["tasks"]
        self.until("the ERP to post every staging transfer",
                   lambda: self.counts("erp")["material_documents"]["by_movement_type"].get("311", 0)
                   >= tasks.get("STAGE:CONFIRMED", 0))
        for k, n in enumerate(runnable):
            self._run(n, final=False)
            self.progress("production runs", k + 1, 2 * len(runnable))
        for k, n in enumerate(runnable):
            self._run(n, final=True)
            self.progress("production runs", len(runnable) + k + 1, 2 * len(runnable))

    def _run(self, n: int, final: bool) -> None:
        aufnr, (_, qty), (first, scrap) = self.report.orders[n], self.plan.orders[n], self.plan.runs[n]
        lot = self.report.lots.setdefault(aufnr, f"FG-{aufnr[-6:]}")
        body: Json = ({"goodQty": qty - first - scrap, "scrapQty": scrap, "final": True, "lot": lot} if final
                      else {"goodQty": first, "final": False, "lot": lot})
        if not final and first == 0:
            return
        answer = self.call("mes", "POST", f"/admin/work-orders/{aufnr}/run", json=body)
        if final:
            self.report.run.append(aufnr)
        for msg in answer["messages"]:
            (self.report.reports if "goodQty" in msg else self.report.consumptions).append(msg)

    def hold_lot(self) -> None:
        """Quality holds one finished lot once it is in the warehouse and on the ERP's books."""
        if self.quality is None or not self.report.run:
            return
        aufnr = self.report.orders[self.plan.hold]
        if aufnr not in self.report.run:
            aufnr = self.report.run[0]
        n = self.report.orders.index(aufnr)
        matnr, qty = self.plan.orders[n]
        lot, good = self.report.lots[aufnr], qty - self.plan.runs[n][1]

        def ready() -> bool:
            stock = self.call("erp", "GET", "/api/stock", params={"MATNR": matnr, "CHARG": lot})["STOCK"]
            tasks = self.call("wms", "GET", "/api/tasks", params={"orderRef": aufnr})["tasks"]
            putaway = [t for t in tasks if t["type"] == "PUTAWAY"]
            return (sum(float(s["LABST"]) for s in stock) >= good and bool(putaway)
                    and all(t["status"] == "CONFIRMED" for t in putaway))

        self.until(f"lot {lot} put away and received in the ERP", ready)
        at = datetime.now(UTC).isoformat()
        hold_id = f"QH-{lot}"
        self.report.hold = {
            "specversion": "1.0", "id": hold_id, "source": "qms/plant-1000", "type": "quality.hold.placed",
            "time": at, "datacontenttype": "application/json", "contractversion": "1", "plant": "1000",
            "data": {"hold_id": hold_id, "plant": "1000", "item_id": MATERIALS[matnr]["golden"], "lot": lot,
                     "reason_code": "VISUAL", "reason": "scratches on housing", "placed_at": at}}
        self.quality(self.report.hold)
