"""Value streams end to end: a plant's day through the ERP, MES, WMS and supplier simulators with a
real hub between them, then every posting counted in the systems and the stock reconciled.

What must agree (systems of record: the MES for consumption and completion, the WMS for receipts and
stock moves, the supplier for acknowledgments, the ERP for orders and POs):
- ERP stock and the hub's projection, per item, storage location and lot, everywhere;
- WMS stock as well in the stores it runs (RM01, FG01); at the line side (PR01) the WMS still holds
  what it staged because nothing tells it what the MES consumed, so there WMS = ERP + the goods
  issues posted from PR01 (`reconcile` checks exactly that);
- blocked stock: ERP SPEME = WMS handling units on HOLD.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from plantwire.cli.demo import Stack, WebhookRelay, _journaled, _post_quality, audit, reconcile, wait_settled
from plantwire.simulators.plantday import BOMS, MATERIALS, DayReport, PlantDay

from .conftest import atp_state, replay_atp

ORDERS = 12


def run_day(stack: Stack, orders: int = ORDERS, **kwargs: Any) -> DayReport:
    day = PlantDay(stack.urls, orders=orders, quality=_post_quality(stack), journaled=_journaled(stack),
                   **kwargs)
    try:
        return day.run()
    finally:
        day.close()


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, DayReport]]:
    """One clean day (no faults), settled; the tests below read it."""
    stack = Stack(tmp_path_factory.mktemp("clean")).start()
    try:
        report = run_day(stack)
        wait_settled(stack, timeout=90)
        yield stack, report
    finally:
        stack.close()


def exceptions(stack: Stack) -> list[dict[str, Any]]:
    with stack.client() as c:
        found: list[dict[str, Any]] = c.get("/v1/exceptions", params={"status": "open"}).json()["exceptions"]
    return found


def test_every_posting_once_nothing_lost(day: tuple[Stack, DayReport]) -> None:
    stack, report = day
    a = audit(stack, report)
    assert not a.lost and not a.doubled, (a.lost, a.doubled)
    assert a.expected["goods issue (261)"] == len(report.consumptions) > 0
    assert a.expected["order receipt (101)"] == sum(m["goodQty"] > 0 for m in report.reports) > 0
    assert a.expected["put-away (WMS)"] == a.expected["order receipt (101)"]
    assert a.expected["financial posting"] == sum(len(r["lines"]) for r in report.receipts) > 0
    with stack.sim("erp") as erp, stack.sim("mes") as mes:
        erp_counts, mes_counts = erp.get("/admin/counts").json(), mes.get("/admin/counts").json()
    docs = erp_counts["material_documents"]
    assert set(docs["by_reference"].values()) == {1}  # one document per idempotency reference
    assert docs["by_movement_type"]["261"] == mes_counts["consumptions"] == len(report.consumptions)
    assert docs["by_movement_type"]["101"] == a.expected["order receipt (101)"] + a.expected[
        "PO goods receipt (101)"]
    assert erp_counts["accounting_documents"]["total"] == a.expected["financial posting"]


def test_released_orders_staged_or_short(day: tuple[Stack, DayReport]) -> None:
    stack, report = day
    shortages = {e["details"]["order"]: e for e in exceptions(stack) if e["kind"] == "shortage"}
    with stack.sim("wms") as wms:
        tasks = wms.get("/api/tasks").json()["tasks"]
    for aufnr, (matnr, qty) in zip(report.orders, report.plan.orders, strict=True):
        staged = Counter[str]()
        for t in tasks:
            if t["orderRef"] == aufnr and t["type"] == "STAGE":
                staged[t["sku"]] += t["qty"]
        need = {MATERIALS[c]["sku"]: per * qty for c, per in BOMS[matnr].items()}
        if aufnr in shortages:
            assert aufnr in report.short and aufnr not in report.run
            assert "RM-SEAL-KIT" in shortages[aufnr]["message"]
        else:
            assert dict(staged) == need, aufnr
    assert shortages and len(report.run) == len(report.orders) - len(shortages)


def test_po_acknowledgments_applied(day: tuple[Stack, DayReport]) -> None:
    stack, report = day
    rejected = [e for e in exceptions(stack) if e["kind"] == "po-rejected"]
    with stack.sim("erp") as erp:
        for po, ack in report.acks.items():
            items = {int(i["EBELP"]): i for i in erp.get(f"/api/purchase-orders/{po}").json()["ITEMS"]}
            for line in ack["lines"]:
                item = items[line["lineNo"]]
                if line["status"] == "ACCEPTED":  # nothing to change: the hub leaves the line as it is
                    assert item["CONF_STATUS"] == "OPEN"
                elif line["status"] == "CHANGED":
                    assert item["CONF_STATUS"] == "CHANGED"
                    assert Decimal(item["MENGE"]) == Decimal(str(line["confirmedQuantity"]))
                    assert item["EINDT"] == line["confirmedDate"]
                elif line["status"] == "REJECTED":
                    assert item["CONF_STATUS"] == "REJECTED"
                    assert any(e["details"]["po_number"] == po for e in rejected)
    assert len(rejected) == sum(any(ln["status"] == "REJECTED" for ln in a["lines"])
                                for a in report.acks.values()) > 0


def test_quality_hold_and_delay(day: tuple[Stack, DayReport]) -> None:
    stack, report = day
    assert report.hold is not None and report.delay is not None
    lot = report.hold["data"]["lot"]
    with stack.sim("wms") as wms, stack.sim("erp") as erp:
        hus = wms.get("/api/stock", params={"lot": lot}).json()["handlingUnits"]
        stock = erp.get("/api/stock", params={"CHARG": lot}).json()["STOCK"]
    assert hus and all(h["status"] == "HOLD" for h in hus)
    assert sum(Decimal(s["SPEME"]) for s in stock) == sum(Decimal(str(h["qty"])) for h in hus) > 0
    assert sum(Decimal(s["LABST"]) for s in stock) == 0
    with stack.client() as c:
        rows = c.get("/v1/inventory", params={"location": "FG01"}).json()["atp"]
    atp = [r for r in rows if r["lot"] == lot]
    assert atp and Decimal(atp[0]["blocked"]) == Decimal(atp[0]["on_hand"]) > 0
    kinds = Counter(e["kind"] for e in exceptions(stack))
    assert kinds["supply-delay"] == 1


def test_stock_reconciles(day: tuple[Stack, DayReport]) -> None:
    stack, _ = day
    rows = reconcile(stack)
    assert rows and all(r["agree"] for r in rows), [r for r in rows if not r["agree"]]
    assert {r["location"] for r in rows} == {"RM01", "PR01", "FG01"}


def test_replay_rebuilds_atp_byte_for_byte(day: tuple[Stack, DayReport]) -> None:
    stack, _ = day
    stack.stop_hub()
    before = atp_state(stack)
    assert sum(len(v) for v in before.values()) > 0
    out = replay_atp(stack)
    assert "replayed" in out
    assert atp_state(stack) == before
    stack.start_hub()


@pytest.mark.slow
def test_plant_day_survives_faults(stack: Stack) -> None:
    """Duplicated and reordered webhooks, 5xx from the ERP, the ERP down for 5 s, and the hub
    SIGKILLed mid-saga and restarted on the same data directory: nothing lost, nothing doubled."""
    relay = WebhookRelay(stack).start(duplicate=0.4, reorder=8)
    stack.faults("erp", error_rate=0.15, seed=3)
    fired: list[str] = []

    def chaos(stage: str, done: int, total: int) -> None:
        if stage == "production orders" and done == total // 2 and "down" not in fired:
            fired.append("down")
            stack.faults("erp", error_rate=0.15, seed=3, down_seconds=5)
        if stage == "production runs" and done == total // 2 + 1 and "kill" not in fired:
            fired.append("kill")  # completions and consumptions are in flight now
            stack.kill_hub()
            time.sleep(0.5)
            stack.start_hub()

    try:
        report = run_day(stack, orders=ORDERS, seed=11, progress=chaos, wait=120)
        for s in ("erp", "mes", "wms", "supplier"):
            stack.faults(s)
        wait_settled(stack, timeout=150)
    finally:
        relay.close()
    assert fired == ["down", "kill"] and stack.hub_starts == 2
    assert relay.counts["duplicate"] > 0  # the webhook channel did deliver duplicates
    a = audit(stack, report)
    assert not a.lost and not a.doubled, (a.lost, a.doubled)
    rows = reconcile(stack)
    assert all(r["agree"] for r in rows), [r for r in rows if not r["agree"]]
    # flows resumed: nothing waits in the outbox and every run order's completion saga finished
    assert not stack.state("outbox")
    completion = dict(stack.state("flow:completion"))
    assert all(completion[o]["status"] == "finished" for o in report.run)
    with stack.client() as c:
        assert c.get("/v1/dead-letters").json()["dead_letters"] == []
    retries = dict(stack.state("counters", "command-retries|"))
    assert int(retries.get("command-retries|erp", 0)) > 0  # the 5xx and the outage were met by retries
