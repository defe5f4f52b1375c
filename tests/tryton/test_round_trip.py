"""Live round trip against a real Tryton with the supplier and MES simulators as real processes:
PO confirmed in Tryton -> supplier simulator acknowledges -> receipt posted back in Tryton; production
released in Tryton -> MES simulator runs it (one partial report, one final with scrap) -> Tryton
production done; transfer; quality hold; stock parity with the inventory projection; Tryton outage.

Ids across systems: golden ids are the ones the simulators' mapping tables use (adapters/sim_supplier
and adapters/sim_mes mapping.py: RM-HOUSING-A, SUP-200, PR01 for the MES line side, FG01 for output);
the Tryton mapping below maps the same golden ids to Tryton codes. Nothing else is translated."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from plantwire.adapters.sim_mes.sink import MesSink
from plantwire.adapters.sim_mes.source import mes_source
from plantwire.adapters.sim_supplier.sink import SupplierSink
from plantwire.adapters.sim_supplier.source import supplier_source
from plantwire.adapters.tryton.client import TrytonClient
from plantwire.adapters.tryton.mapping import TrytonMapping
from plantwire.adapters.tryton.sink import TrytonSink
from plantwire.adapters.tryton.source import TrytonSource
from plantwire.bootstrap import Hub, Settings, bootstrap, value_stream_flows
from plantwire.ports import Command
from plantwire.projections.inventory import BALANCES
from plantwire.service.intake import HubIntake
from plantwire.service.retry import RetryPolicy
from plantwire.simulators.testing import SimProcess

from .conftest import ADMIN_LOGIN, ADMIN_PASSWORD, client, port, rig, wait_up

Json = dict[str, Any]
ITEMS = {
    "RM-HOUSING-A": "RM-BRKT",
    "RM-BOLT-M8": "RM-BOLT",
    "RM-CU-CABLE": "RM-ALU",
    "RM-MOTOR-2KW": "RM-MOTOR",
    "FG-PUMP-100": "FG-CM100",
}
MES_PARTS = {"RM-HOUSING-A": "P-1001", "RM-BOLT-M8": "P-1005", "RM-CU-CABLE": "P-2050",
             "RM-MOTOR-2KW": "P-1004"}
LOTS = {i: f"SUPLOT-{p}" for i, p in MES_PARTS.items()}
"""The supplier lots on the receipt: the ones the MES simulator reports consuming by default (hub-side
only: Tryton core keeps no lots)."""
NOW = dt.datetime.now(dt.UTC).isoformat()


class Acks:
    """Stand-ins for the supplier portal, MES download and WMS: they confirm and count commands."""

    def __init__(self) -> None:
        self.commands: list[Command] = []

    def execute(self, idempotency_key: str, command: Command) -> Json:
        self.commands.append(command)
        return {"document": f"ack-{len(self.commands)}"}


def make_bins(admin: TrytonClient, tag: str) -> dict[str, str]:
    """Fresh bins for this run (so stock there starts at zero): RM, PR (line side), FG, and QH."""
    sto = admin.search_read("stock.location", [["code", "=", "STO"]], ["id"])[0]["id"]
    wh = admin.search_read("stock.location", [["code", "=", "WH"]], ["id"])[0]["id"]
    codes = {"RM01": f"PWRM{tag}", "PR01": f"PWPR{tag}", "FG01": f"PWFG{tag}"}
    rows = [
        {"name": f"plantwire {g} {tag}", "code": c, "type": "storage", "parent": sto}
        for g, c in codes.items()
    ]
    rows.append({"name": f"plantwire blocked {tag}", "code": f"PWQH{tag}", "type": "storage", "parent": wh})
    admin.model("stock.location", "create", rows)
    return {**codes, "QH": f"PWQH{tag}"}


def confirm_po(admin: TrytonClient, lines: list[tuple[str, str]]) -> str:
    """A buyer in Tryton: create, quote, confirm a purchase from Motion Drives; its number."""
    party = admin.search_read("party.party", [["code", "=", "4"]], ["id"])[0]["id"]
    addr = admin.search_read("party.address", [["party", "=", party]], ["id"])[0]["id"]
    products = {
        r["code"]: r
        for r in admin.search_read(
            "product.product", [["code", "in", [c for c, _ in lines]]], ["id", "code", "default_uom"]
        )
    }
    po_lines = [
        {
            "product": products[c]["id"],
            "quantity": float(q),
            "unit": products[c]["default_uom"],
            "unit_price": Decimal("10.0000"),
        }
        for c, q in lines
    ]
    pid = admin.model(
        "purchase.purchase",
        "create",
        [
            {
                "party": party,
                "invoice_address": addr,
                "purchase_date": dt.date.today(),
                "lines": [["create", po_lines]],
            }
        ],
    )[0]
    admin.model("purchase.purchase", "quote", [pid])
    admin.model("purchase.purchase", "confirm", [pid])
    return str(admin.search_read("purchase.purchase", [["id", "=", pid]], ["number"])[0]["number"])


def release_production(admin: TrytonClient, quantity: int, bins: dict[str, str], assign: bool = True) -> str:
    """A planner in Tryton: a CM-100 production from the BOM, inputs from the line-side bin; wait, assign."""
    loc = {r["code"]: r["id"] for r in admin.search_read("stock.location", [], ["id", "code"])}
    bom = admin.search_read("production.bom", [], ["id"])[0]["id"]
    fg = admin.search_read("product.product", [["code", "=", "FG-CM100"]], ["id", "default_uom"])[0]
    values = {
        k: v
        for k, v in admin.model(
            "production", "default_get", ["company", "warehouse", "location", "type", "state"]
        ).items()
        if "." not in k
    }
    today = dt.date.today()
    values.update(
        product=fg["id"],
        bom=bom,
        quantity=float(quantity),
        unit=fg["default_uom"],
        planned_date=today,
        planned_start_date=today,
        inputs=[],
        outputs=[],
    )
    change = admin.model("production", "on_change", values, ["bom"])
    change = change[0] if isinstance(change, list) else change
    inputs = [dict(m, from_location=loc[bins["PR01"]]) for _, m in change["inputs"]["add"]]
    outputs = [dict(m, to_location=loc[bins["FG01"]]) for _, m in change["outputs"]["add"]]
    keep = {
        "product",
        "unit",
        "quantity",
        "from_location",
        "to_location",
        "company",
        "currency",
        "unit_price",
    }
    values.pop("state")
    values["inputs"] = [["create", [{k: v for k, v in m.items() if k in keep} for m in inputs]]]
    values["outputs"] = [["create", [{k: v for k, v in m.items() if k in keep} for m in outputs]]]
    pid = admin.model("production", "create", [values])[0]
    admin.model("production", "wait", [pid])
    if assign:
        admin.model("production", "assign_try", [pid])
    row = admin.search_read("production", [["id", "=", pid]], ["number", "state"])[0]
    assert row["state"] == ("assigned" if assign else "waiting"), row
    return str(row["number"])


def tryton_stock(c: TrytonClient, codes: dict[str, str]) -> dict[tuple[str, str], Decimal]:
    """On-hand per (golden item, golden location) in the mapped bins, via products_by_locations."""
    out: dict[tuple[str, str], Decimal] = {}
    loc = {
        r["code"]: r["id"]
        for r in c.search_read("stock.location", [["code", "in", list(codes.values())]], ["id", "code"])
    }
    golden_item = {v: k for k, v in ITEMS.items()}
    for golden, code in codes.items():
        rows = c.search_read(
            "stock.products_by_locations",
            [],
            ["product.code", "quantity"],
            context={"locations": [loc[code]], "with_childs": False},
        )
        for r in rows:
            if r["quantity"] and r["product."]["code"] in golden_item:
                out[(golden_item[r["product."]["code"]], golden)] = Decimal(str(r["quantity"]))
    return out


def projection(hub: Hub) -> dict[tuple[str, str], Decimal]:
    """The hub's inventory projection per (item, location), lots summed (Tryton here keeps no lots)."""
    out: dict[tuple[str, str], Decimal] = {}
    with hub.state.transaction() as tx:
        for key, value in tx.scan(BALANCES, "1000|"):
            _, item, location, _lot, _uom = key.split("|")
            out[(item, location)] = out.get((item, location), Decimal(0)) + Decimal(str(value))
    return {k: v for k, v in out.items() if v}


def event(type_: str, event_id: str, data: Json) -> Json:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "test/plant-floor",
        "type": type_,
        "time": NOW,
        "datacontenttype": "application/json",
        "contractversion": "1",
        "plant": "1000",
        "data": data,
    }


def q(value: Any, uom: str = "EA") -> Json:
    return {"value": str(value), "uom": uom}


class Rig:
    """The hub in-process with the Tryton source and sink; with `sims` (role -> simulator URL), the real
    supplier / MES simulator sinks and feed sources for those roles, else stand-ins that acknowledge."""

    def __init__(self, tmp: Path, mapping: TrytonMapping, sims: dict[str, str] | None = None) -> None:
        self.mapping, self.acks, sims = mapping, Acks(), sims or {}
        settings = Settings(
            data_dir=tmp, retry=RetryPolicy(max_attempts=30, initial_interval=0.5, max_interval=2.0)
        )
        self.sink = TrytonSink(client(), mapping)
        sinks: dict[str, Any] = {"erp": self.sink, "mes": self.acks, "wms": self.acks, "supplier": self.acks}
        if "supplier" in sims:
            sinks["supplier"] = SupplierSink(sims["supplier"])
        if "mes" in sims:
            sinks["mes"] = MesSink(sims["mes"])
        self.hub = bootstrap(settings, flows=value_stream_flows(settings), sinks=sinks)
        self.intake = HubIntake(self.hub.ingest)
        self.source = TrytonSource(client(), mapping, self.intake, self.hub.state, interval=0.2, overlap=60)
        factories = {"supplier": supplier_source, "mes": mes_source}
        self.feeds = {role: factories[role](url, self.intake, self.hub.state) for role, url in sims.items()}
        self.events_in = 0

    def poll(self) -> int:
        result = asyncio.run(self.source.poll_once())
        self.events_in += result.accepted
        self.hub.drain()
        return result.accepted

    def poll_sim(self, role: str) -> int:
        """One poll of a simulator's feed, then delivery; the events the hub accepted."""
        result = asyncio.run(self.feeds[role].poll_once())
        self.events_in += result.accepted
        self.hub.drain()
        return result.accepted

    def send(self, *events: Json) -> None:
        receipts = self.intake.accept_sync(list(events))
        assert all(r["status"] in ("accepted", "duplicate") for r in receipts), receipts
        self.events_in += sum(r["status"] == "accepted" for r in receipts)
        self.hub.drain()


def test_round_trip(tryton_url: str, tmp_path: Path) -> None:
    admin = client(ADMIN_LOGIN, ADMIN_PASSWORD)
    tag = uuid.uuid4().hex[:6].upper()
    bins = make_bins(admin, tag)
    codes = {g: bins[g] for g in ("RM01", "PR01", "FG01")}
    mapping = TrytonMapping.from_tables(
        {
            "item": ITEMS,
            "plant": {"1000": "WH"},
            "party": {"SUP-200": "4", "SUP-100": "3"},
            "location": codes,
        },
        blocked={"WH": bins["QH"]},
    )
    supplier = SimProcess("supplier", tmp_path / "sim-supplier").start()
    mes = SimProcess("mes", tmp_path / "sim-mes").start()
    try:
        _round_trip(tmp_path, admin, bins, codes, mapping, supplier, mes)
    finally:
        supplier.stop()
        mes.stop()


def _until(step: Any, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not step():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _round_trip(tmp_path: Path, admin: TrytonClient, bins: dict[str, str], codes: dict[str, str],
                mapping: TrytonMapping, supplier: SimProcess, mes: SimProcess) -> None:
    r = Rig(tmp_path / "hub", mapping, sims={"supplier": supplier.url, "mes": mes.url})
    assert r.poll() == 0  # history before the first poll is not replayed
    with supplier.client() as portal:
        portal.put("/admin/rules", json={"ackDelaySeconds": 3600, "default": "accept"}).raise_for_status()

    # 1. PO confirmed in Tryton -> po.approved -> the supplier simulator gets it and acknowledges it
    t0 = time.monotonic()
    po = confirm_po(admin, [("RM-BRKT", "12"), ("RM-BOLT", "48"), ("RM-ALU", "7.2"), ("RM-MOTOR", "3")])
    while r.poll() == 0:
        time.sleep(0.2)
    latency = time.monotonic() - t0
    with supplier.client() as portal:
        order = portal.get(f"/api/purchase-orders/{po}").json()
        assert [(ln["supplierPart"], ln["quantity"]) for ln in order["lines"]] == [
            ("HSG-A1", 12), ("BOLT-M8", 48), ("CU-15", 7.2), ("MOT-2K", 3)], order
        portal.post(f"/admin/purchase-orders/{po}/ack").raise_for_status()
    _until(lambda: r.poll_sim("supplier") > 0, "the supplier's ORDRSP")
    acked = [x for x in r.hub.exceptions.list(status=None) if x["flow"].startswith("po")]
    assert not acked, acked

    # 2. the dock reports the receipt -> posted in Tryton (shipment received and put away in RM01)
    lines = [
        ("RM-HOUSING-A", "12", "EA"),
        ("RM-BOLT-M8", "48", "EA"),
        ("RM-CU-CABLE", "7.2", "M"),
        ("RM-MOTOR-2KW", "3", "EA"),
    ]
    r.send(
        event(
            "procurement.goods.received",
            f"gr-{po}",
            {
                "receipt_id": f"DOCK-{po}",
                "po_number": po,
                "plant": "1000",
                "supplier_id": "SUP-200",
                "received_at": NOW,
                "lines": [
                    {"line": n, "po_line": n, "item_id": i, "quantity": q(v, u), "storage_location": "RM01",
                     "lot": LOTS[i]}
                    for n, (i, v, u) in enumerate(lines, 1)
                ],
            },
        )
    )
    assert r.poll() == 0  # the hub's own shipments do not come back as events

    # 3. staging to the line side: transfers RM01 -> PR01 (internal shipments in Tryton)
    r.send(
        *[
            event(
                "inventory.transferred",
                f"tr-{po}-{i}",
                {
                    "transfer_id": f"TR-{po}-{n}",
                    "plant": "1000",
                    "item_id": i,
                    "quantity": q(v, u),
                    "from_location": "RM01",
                    "to_location": "PR01",
                    "lot": LOTS[i],
                    "transferred_at": NOW,
                },
            )
            for n, (i, v, u) in enumerate(lines, 1)
        ]
    )
    assert tryton_stock(admin, codes) == projection(r.hub)

    # 4. production released in Tryton -> the MES simulator gets the work order and runs it:
    #    one partial report (1 good), then the final one (2 good, 1 scrap); it reports consumption first
    order = release_production(admin, 3, bins)
    assert r.poll() == 1
    with mes.client() as m:
        wo = m.get(f"/api/v1/work-orders/{order}").json()
        assert (wo["partNumber"], wo["quantity"], wo["status"]) == ("P-7731", 3, "DOWNLOADED"), wo
        assert sorted((b["partNumber"], b["quantity"]) for b in wo["bom"]) == [
            ("P-1001", 12), ("P-1004", 3), ("P-1005", 48), ("P-2050", 7.2)], wo["bom"]
        first = {"goodQty": 1, "final": False, "lot": f"LOT-{order}-1"}
        m.post(f"/admin/work-orders/{order}/run", json=first).raise_for_status()
        assert r.poll_sim("mes") == 5  # 4 consumptions + 1 production report
        partial = admin.search_read("production", [["number", "=", order]], ["state"])[0]
        assert partial["state"] in ("waiting", "assigned"), partial  # partial: not done yet
        m.post(f"/admin/work-orders/{order}/run", json={"goodQty": 2, "scrapQty": 1, "final": True,
                                                         "lot": f"LOT-{order}-2"}
               ).raise_for_status()
        assert r.poll_sim("mes") == 5
        assert m.get(f"/api/v1/work-orders/{order}").json()["status"] == "COMPLETED"
    prod = admin.search_read("production", [["number", "=", order]], ["state"])[0]
    assert prod["state"] == "done"
    assert tryton_stock(admin, codes) == projection(r.hub)

    # 5. quality hold on the last lot: Tryton moves it to the blocked location, and back on release
    r.send(
        event(
            "quality.hold.placed",
            f"qh-{order}",
            {
                "hold_id": f"QH-{order}",
                "plant": "1000",
                "item_id": "FG-PUMP-100",
                "lot": f"LOT-{order}-2",
                "quantity": q(2),
                "storage_location": "FG01",
                "reason_code": "QC-FAIL",
                "reason": "leak test",
                "placed_at": NOW,
            },
        )
    )
    blocked = tryton_stock(admin, {"QH": bins["QH"]})
    assert blocked == {("FG-PUMP-100", "QH"): Decimal(2)}

    # 6. Tryton down while the hold is released: nothing lost, nothing doubled
    served_on = port()
    assert rig("stop.sh").returncode == 0
    r.send(
        event(
            "quality.hold.released",
            f"qr-{order}",
            {"hold_id": f"QH-{order}", "plant": "1000", "released_at": NOW, "disposition": "release"},
        )
    )
    assert rig("serve.sh", port=served_on).returncode == 0
    assert port() == served_on, "the rig came back on another port"
    wait_up()
    deadline = time.monotonic() + 60
    while tryton_stock(client(), {"QH": bins["QH"]}) and time.monotonic() < deadline:
        time.sleep(0.5)
        r.hub.drain()
    admin = client(ADMIN_LOGIN, ADMIN_PASSWORD)
    assert not r.hub.exceptions.list(), [x["message"] for x in r.hub.exceptions.list()]
    assert tryton_stock(admin, {"QH": bins["QH"]}) == {}
    assert tryton_stock(admin, codes) == projection(r.hub)
    print(f"\nTryton stock = projection: {sorted(projection(r.hub).items())}")
    print(f"PO change in Tryton -> hub: {latency:.2f}s at poll interval 0.2s")
    print(
        f"events in {r.events_in}, Tryton documents created {r.sink.created}, "
        f"duplicates prevented {r.sink.existing}, answered without a write {r.sink.answered}"
    )
    for sim in (supplier, mes):
        with sim.client() as c:
            print(f"{sim.system} simulator counts: {c.get('/admin/counts').json()}")
