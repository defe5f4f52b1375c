"""Flow 5 "receipt": goods receipt checked against the PO, posted, and compensated on failure."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from deployments import Deployment
from flow_fakes import FakeSink

from plantwire.bootstrap import Hub
from plantwire.clocks import ManualClock
from plantwire.flows.api import Command
from plantwire.flows.catalog.procurement_settings import ProcurementSettings
from plantwire.flows.catalog.receipt import Receipt
from plantwire.simulators.scenario import event, qty

NOW = datetime(2027, 1, 15, 8, tzinfo=UTC)
PO = "4500000007"
SETTINGS = ProcurementSettings(receipt_over_tolerance=Decimal("0.05"), receipt_po_wait_seconds=3600)


def po(rev: int = 0, line_20_qty: int = 40) -> dict[str, Any]:
    lines = [{"line": 10, "item_id": "RM-HOUSING-A", "quantity": qty(100), "unit_price": "12.50",
              "delivery_date": "2027-01-25"},
             {"line": 20, "item_id": "RM-SEAL-KIT", "quantity": qty(line_20_qty),
              "delivery_date": "2027-01-25"}]
    return event("erp/plant-1000", f"PO-{PO}/rev-{rev}", "procurement.po.approved",
                 {"po_number": PO, "revision": rev, "plant": "1000", "supplier_id": "SUP-200",
                  "currency": "EUR", "lines": lines, "approved_at": NOW.isoformat()}, NOW, "1000")


def gr(receipt_id: str = "5000001", lines: list[tuple[int, str, int]] | None = None, eid: str | None = None,
       asn: str | None = None) -> dict[str, Any]:
    lines = lines if lines is not None else [(10, "RM-HOUSING-A", 100), (20, "RM-SEAL-KIT", 40)]
    data: dict[str, Any] = {
        "receipt_id": receipt_id, "po_number": PO, "plant": "1000", "supplier_id": "SUP-200",
        "received_at": NOW.isoformat(),
        "lines": [{"line": i + 1, "po_line": pl, "item_id": item, "quantity": qty(q),
                   "storage_location": "RM01"} for i, (pl, item, q) in enumerate(lines)]}
    if asn:
        data["asn_id"] = asn
    return event("wms/plant-1000", eid or f"GR-{receipt_id}", "procurement.goods.received", data, NOW, "1000")


World = tuple[Hub, ManualClock, FakeSink]


@pytest.fixture
def world(deployment: Deployment) -> World:
    clock = ManualClock(NOW.timestamp())
    erp = FakeSink("erp")
    hub = deployment.hub(clock=clock, flows=[Receipt(SETTINGS)], sinks={"erp": erp})
    return hub, clock, erp


def submit(hub: Hub, *events: dict[str, Any]) -> None:
    results = hub.ingest.submit_sync(list(events))
    assert all(r.status != "rejected" for r in results), results
    hub.drain()


def receipt_state(hub: Hub, receipt_id: str = "5000001") -> dict[str, Any]:
    with hub.state.transaction() as tx:
        found = tx.get("flow:receipt", PO)
    assert found is not None
    return dict(found["state"]["receipts"][receipt_id])


def kinds(hub: Hub) -> list[str]:
    return [e["kind"] for e in hub.exceptions.list()]


def test_happy_path_posts_goods_receipts_then_their_financial_side(world: World) -> None:
    hub, _, erp = world
    submit(hub, po(), gr(asn="ASN-77"))
    assert erp.names() == ["post_goods_movement", "post_goods_movement",
                           "post_financial_document", "post_financial_document"]
    first, second = erp.by_name("post_goods_movement")
    assert first.payload["movement"] == "goods_receipt_for_po" and first.payload["po_line"] == 10
    assert first.payload["quantity"] == {"value": "100", "uom": "EA"} and "ASN-77" in first.payload["text"]
    fi_1, fi_2 = erp.by_name("post_financial_document")
    assert (fi_1.payload["receipt_document"], fi_2.payload["receipt_document"]) == ("ERP-1", "ERP-2")
    assert Decimal(fi_1.payload["amount"]) == Decimal("1250") and fi_1.payload["currency"] == "EUR"
    assert fi_2.payload["amount"] is None  # line 20 has no price on the PO
    state = receipt_state(hub)
    assert state["status"] == "posted" and state["docs"] == ["ERP-1", "ERP-2"]
    assert kinds(hub) == []


@pytest.mark.parametrize("lines, expected", [
    ([(30, "RM-BOLT-M8", 5)], "is not on the PO"),
    ([(10, "RM-BOLT-M8", 5)], "the PO line orders RM-HOUSING-A"),
    ([(10, "RM-HOUSING-A", 106)], "only 100 is open"),
    ([(10, "RM-HOUSING-A", 60), (10, "RM-HOUSING-A", 60)], "receiving 120"),
])
def test_mismatch_is_an_exception_not_a_posting(world: World, lines: Any, expected: str) -> None:
    hub, _, erp = world
    submit(hub, po(), gr(lines=lines))
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "receipt-mismatch" and expected in ex["message"]
    assert ex["plant"] == "1000" and ex["supplier"] == "SUP-200"
    assert erp.effects == {} and receipt_state(hub)["status"] == "mismatch"


def test_over_delivery_within_tolerance_posts_and_later_receipts_see_what_is_open(world: World) -> None:
    hub, _, erp = world
    submit(hub, po(), gr("5000001", [(10, "RM-HOUSING-A", 60)]), gr("5000002", [(10, "RM-HOUSING-A", 45)]))
    assert len(erp.by_name("post_goods_movement")) == 2 and kinds(hub) == []  # 105 of 100: within 5 %
    submit(hub, gr("5000003", [(10, "RM-HOUSING-A", 1)]))
    assert kinds(hub) == ["receipt-mismatch"] and len(erp.by_name("post_goods_movement")) == 2


def test_receipt_before_the_po_waits_for_it(world: World) -> None:
    hub, _, erp = world
    submit(hub, gr())
    assert erp.effects == {} and receipt_state(hub)["status"] == "waiting-po"
    submit(hub, po())
    assert receipt_state(hub)["status"] == "posted" and len(erp.effects) == 4


def test_receipt_whose_po_never_comes_is_raised_after_the_wait(world: World) -> None:
    hub, clock, erp = world
    submit(hub, gr())
    clock.advance(3599)
    hub.drain()
    assert kinds(hub) == []
    clock.advance(1)
    hub.drain()
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "receipt-po-unknown" and ex["supplier"] == "SUP-200" and erp.effects == {}
    submit(hub, po())  # late after all: posted
    assert receipt_state(hub)["status"] == "posted"


def test_duplicate_receipt_and_older_po_revision_change_nothing(world: World) -> None:
    hub, _, erp = world
    submit(hub, po(rev=1, line_20_qty=50), po(rev=0), gr(), gr(eid="GR-resent"))
    assert len(erp.effects) == 4 and kinds(hub) == []
    submit(hub, gr("5000002", [(20, "RM-SEAL-KIT", 10)]))  # rev 1 ordered 50 of line 20, rev 0 only 40
    assert len(erp.effects) == 6 and kinds(hub) == []


def test_erp_down_then_back_posts_each_document_once(world: World) -> None:
    hub, clock, erp = world
    erp.down = True
    submit(hub, po(), gr())
    for _ in range(4):
        clock.advance(120)
        hub.drain()
    erp.down = False
    clock.advance(600)
    hub.drain()
    assert erp.calls > 4 and len(erp.effects) == 4
    assert receipt_state(hub)["status"] == "posted"


def test_financial_posting_refused_reverses_the_goods_receipts(world: World) -> None:
    hub, _, erp = world
    erp.refuse = lambda c: c.name == "post_financial_document"
    submit(hub, po(), gr())
    reversals = erp.by_name("reverse_document")
    assert [r.payload["document"] for r in reversals] == ["ERP-2", "ERP-1"]  # newest first
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "posting-failed" and ex["supplier"] == "SUP-200" and ex["plant"] == "1000"
    assert ex["details"]["reversed"] == ["ERP-2", "ERP-1"] and "refused" in ex["message"]
    assert receipt_state(hub)["status"] == "failed"
    erp.refuse = lambda c: False  # fixed in the ERP; the warehouse re-reports the delivery
    submit(hub, gr("5000002"))
    assert receipt_state(hub, "5000002")["status"] == "posted"  # the failed receipt left nothing open


def test_goods_receipt_refused_on_the_second_line_reverses_the_first(world: World) -> None:
    hub, _, erp = world
    erp.refuse = lambda c: c.payload.get("po_line") == 20
    submit(hub, po(), gr())
    assert [r.payload["document"] for r in erp.by_name("reverse_document")] == ["ERP-1"]
    assert erp.by_name("post_financial_document") == []
    assert kinds(hub) == ["posting-failed"]


def test_refused_reversal_is_raised_for_a_person(world: World) -> None:
    hub, _, erp = world
    erp.refuse = lambda c: c.name in ("post_financial_document", "reverse_document")
    submit(hub, po(), gr(lines=[(10, "RM-HOUSING-A", 100)]))
    assert sorted(kinds(hub)) == ["compensation-failed", "posting-failed"]
    [comp] = [e for e in hub.exceptions.list() if e["kind"] == "compensation-failed"]
    assert "ERP-1" in comp["action"]


def test_restart_mid_saga_resumes_and_posts_each_document_once(deployment: Deployment) -> None:
    clock, erp = ManualClock(NOW.timestamp()), FakeSink("erp")

    def start() -> Hub:
        return deployment.hub(flows=[Receipt(SETTINGS)], sinks={"erp": erp}, clock=clock, durable=True)

    hub = start()
    erp.refuse = lambda c: False
    submit(hub, po())
    hub.ingest.submit_sync([gr()])
    hub.drain(commands=False)
    hub.relay.step()  # the first goods receipt is posted...
    with hub.state.transaction() as tx:
        [(_, row)] = tx.scan("outbox")
    erp.execute(row["id"], Command(**row["command"]))  # ...and the second reached the ERP, then a crash
    hub.journal.close()
    hub.state.close()
    again = start()
    again.ingest.submit_sync([gr(eid="GR-redelivered")])
    again.drain()
    assert erp.names() == ["post_goods_movement", "post_goods_movement",
                           "post_financial_document", "post_financial_document"]
    assert receipt_state(again)["status"] == "posted"
    again.close()
