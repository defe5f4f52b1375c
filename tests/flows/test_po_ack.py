"""Flow 4 "po-ack" and "supply-delay": PO to supplier, acknowledgment on a plant calendar, delays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from deployments import Deployment
from flow_fakes import FakeSink

from plantwire.bootstrap import Hub
from plantwire.clocks import ManualClock
from plantwire.flows.catalog.calendar import PlantCalendar
from plantwire.flows.catalog.procurement import procurement_flows
from plantwire.flows.catalog.procurement_settings import ProcurementSettings
from plantwire.simulators.scenario import event, qty

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_17 = datetime(2027, 1, 15, 17, tzinfo=BERLIN)
SETTINGS = ProcurementSettings(ack_sla_working_hours=8,
                               calendars={"1000": PlantCalendar.standard("Europe/Berlin")})
PO = "4500000001"


def po(rev: int = 0, at: datetime = FRIDAY_17, eid: str | None = None) -> dict[str, Any]:
    lines = [{"line": 10, "item_id": "RM-HOUSING-A", "quantity": qty(100), "unit_price": "12.50",
              "delivery_date": "2027-01-25"},
             {"line": 20, "item_id": "RM-SEAL-KIT", "quantity": qty(40), "delivery_date": "2027-01-25"}]
    return event("erp/plant-1000", eid or f"PO-{PO}/rev-{rev}", "procurement.po.approved",
                 {"po_number": PO, "revision": rev, "plant": "1000", "supplier_id": "SUP-100",
                  "currency": "EUR", "lines": lines, "approved_at": at.isoformat()}, at, "1000")


def ack(lines: list[dict[str, Any]], rev: int = 0, ack_id: str = "ACK-1") -> dict[str, Any]:
    return event("supplier/SUP-100", ack_id, "procurement.supplier.acknowledged",
                 {"po_number": PO, "revision": rev, "supplier_id": "SUP-100", "ack_id": ack_id,
                  "acknowledged_at": FRIDAY_17.isoformat(), "lines": lines}, FRIDAY_17, "1000")


ACCEPT_ALL = [{"line": 10, "status": "accepted"}, {"line": 20, "status": "accepted"}]

World = tuple[Hub, ManualClock, FakeSink, FakeSink]


@pytest.fixture
def world(deployment: Deployment) -> World:
    clock = ManualClock(FRIDAY_17.timestamp())
    supplier, erp = FakeSink("supplier"), FakeSink("erp")
    hub = deployment.hub(clock=clock, flows=procurement_flows(SETTINGS),
                         sinks={"supplier": supplier, "erp": erp})
    return hub, clock, supplier, erp


def submit(hub: Hub, *events: dict[str, Any]) -> None:
    results = hub.ingest.submit_sync(list(events))
    assert all(r.status != "rejected" for r in results), results
    hub.drain()


def instance(hub: Hub, key: str, flow: str = "po-ack") -> dict[str, Any]:
    with hub.state.transaction() as tx:
        found = tx.get(f"flow:{flow}", key)
    assert found is not None
    return dict(found)


def kinds(hub: Hub) -> list[str]:
    return [e["kind"] for e in hub.exceptions.list()]


def test_happy_path_sends_once_and_finishes_on_acceptance(world: World) -> None:
    hub, clock, supplier, erp = world
    submit(hub, po(), po(eid="PO-resent"))  # the ERP sent the approval twice, with different ids
    assert supplier.names() == ["send_purchase_order"]
    [sent] = supplier.effects.values()
    assert sent.payload["revision"] == 0 and [ln["line"] for ln in sent.payload["lines"]] == [10, 20]
    submit(hub, ack(ACCEPT_ALL))
    inst = instance(hub, f"{PO}|r0")
    assert inst["status"] == "finished" and inst["outcome"] == "accepted"
    assert erp.effects == {}
    clock.advance(7 * 86400)
    hub.drain()
    assert kinds(hub) == []


def test_changed_lines_update_the_erp_po(world: World) -> None:
    hub, _, _, erp = world
    submit(hub, po())
    submit(hub, ack([{"line": 10, "status": "accepted"},
                     {"line": 20, "status": "changed", "quantity": qty(30), "delivery_date": "2027-01-29"}]))
    [update] = erp.effects.values()
    assert update.name == "update_po_lines"
    changed = {"line": 20, "status": "changed", "quantity": {"value": "30", "uom": "EA"},
               "delivery_date": "2027-01-29"}
    assert update.payload["lines"] == [changed]
    assert instance(hub, f"{PO}|r0")["outcome"] == "accepted+changed"
    assert kinds(hub) == []


def test_rejected_line_marks_the_erp_and_raises_for_the_buyer(world: World) -> None:
    hub, _, _, erp = world
    submit(hub, po())
    submit(hub, ack([{"line": 10, "status": "accepted"},
                     {"line": 20, "status": "rejected", "reason": "discontinued"}]))
    [update] = erp.effects.values()
    assert update.payload["lines"] == [{"line": 20, "status": "rejected", "quantity": None,
                                        "delivery_date": None}]
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "po-rejected" and ex["supplier"] == "SUP-100" and ex["plant"] == "1000"
    assert "line 20 (RM-SEAL-KIT): discontinued" in ex["message"]
    assert instance(hub, f"{PO}|r0")["outcome"] == "accepted+rejected"


def test_change_to_zero_is_a_rejection(world: World) -> None:
    hub, _, _, erp = world
    submit(hub, po())
    submit(hub, ack([{"line": 10, "status": "changed", "quantity": qty(0)},
                     {"line": 20, "status": "accepted"}]))
    [update] = erp.effects.values()
    assert update.payload["lines"][0]["status"] == "rejected"
    assert kinds(hub) == ["po-rejected"]


def test_partial_acknowledgments_wait_for_every_line(world: World) -> None:
    hub, clock, _, _ = world
    submit(hub, po())
    submit(hub, ack([{"line": 10, "status": "accepted"}], ack_id="ACK-1"))
    assert instance(hub, f"{PO}|r0")["status"] == "running"
    submit(hub, ack([{"line": 10, "status": "accepted"}], ack_id="ACK-1b"),
           ack([{"line": 20, "status": "accepted"}], ack_id="ACK-2"))
    assert instance(hub, f"{PO}|r0")["outcome"] == "accepted"


def test_sla_fires_on_the_plant_calendar_and_a_late_ack_still_counts(world: World) -> None:
    hub, clock, _, _ = world
    submit(hub, po())  # Friday 17:00 Berlin; 8 working hours of 06:00-22:00 -> Monday 09:00
    monday_9 = datetime(2027, 1, 18, 9, tzinfo=BERLIN).timestamp()
    clock.advance(monday_9 - clock.now() - 1)
    hub.drain()
    assert kinds(hub) == []
    clock.advance(1)
    hub.drain()
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "ack-sla-missed" and ex["action"] == "chase supplier SUP-100"
    assert ex["supplier"] == "SUP-100" and ex["plant"] == "1000"
    assert ex["details"]["aging_working_hours"] == 8.0 and ex["details"]["open_lines"] == [10, 20]
    clock.advance(3600)  # Monday 10:00: one working hour late
    submit(hub, ack(ACCEPT_ALL))
    inst = instance(hub, f"{PO}|r0")
    assert inst["outcome"] == "accepted" and inst["state"]["late_by_working_hours"] == 1.0
    assert any("late" in n for n in inst["state"]["notes"])


def test_ack_before_the_approval_is_kept_and_the_po_not_sent_again(world: World) -> None:
    hub, clock, supplier, _ = world
    submit(hub, ack(ACCEPT_ALL))
    assert instance(hub, f"{PO}|r0")["status"] == "running" and supplier.calls == 0
    submit(hub, po())
    assert supplier.calls == 0
    assert instance(hub, f"{PO}|r0")["outcome"] == "accepted"
    clock.advance(7 * 86400)
    hub.drain()
    assert kinds(hub) == []


def test_newer_revision_restarts_the_wait_and_the_old_one_stands_down(world: World) -> None:
    hub, clock, supplier, erp = world
    submit(hub, po(0))
    clock.advance(3600)
    submit(hub, po(1, at=FRIDAY_17 + timedelta(hours=1)))
    assert [c.payload["revision"] for c in supplier.effects.values()] == [0, 1]
    clock.advance(datetime(2027, 1, 18, 9, 30, tzinfo=BERLIN).timestamp() - clock.now())
    hub.drain()
    assert kinds(hub) == []  # rev 0's SLA passed, but rev 1 superseded it; rev 1 is due at 10:00
    assert instance(hub, f"{PO}|r0")["outcome"] == "superseded"
    clock.advance(1800)
    hub.drain()
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "ack-sla-missed" and ex["details"]["po_number"] == PO and "rev 1" in ex["message"]
    submit(hub, ack([{"line": 10, "status": "changed", "quantity": qty(1)},
                     {"line": 20, "status": "accepted"}], rev=0, ack_id="ACK-stale"))
    assert erp.effects == {}  # an answer to a superseded revision changes nothing
    submit(hub, ack(ACCEPT_ALL, rev=1, ack_id="ACK-r1"))
    assert instance(hub, f"{PO}|r1")["outcome"] == "accepted"


def test_supplier_down_then_back_sends_once(world: World) -> None:
    hub, clock, supplier, _ = world
    supplier.down = True
    submit(hub, po())
    assert supplier.calls == 1 and supplier.effects == {}
    supplier.down = False
    clock.advance(60)
    hub.drain()
    assert supplier.calls == 2 and supplier.names() == ["send_purchase_order"]
    # the SLA starts when the supplier has the PO: Monday 09:01, not 09:00
    clock.advance(datetime(2027, 1, 18, 9, 0, 30, tzinfo=BERLIN).timestamp() - clock.now())
    hub.drain()
    assert kinds(hub) == []


def test_refused_send_raises_and_keeps_waiting(world: World) -> None:
    hub, _, supplier, _ = world
    supplier.refuse = lambda c: True
    submit(hub, po())
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "po-send-failed" and ex["supplier"] == "SUP-100"
    submit(hub, ack(ACCEPT_ALL))
    assert instance(hub, f"{PO}|r0")["outcome"] == "accepted"


def test_erp_refusing_the_update_raises(world: World) -> None:
    hub, _, _, erp = world
    erp.refuse = lambda c: True
    submit(hub, po())
    submit(hub, ack([{"line": 10, "status": "changed", "delivery_date": "2027-02-01"},
                     {"line": 20, "status": "accepted"}]))
    assert kinds(hub) == ["po-update-failed"]
    assert instance(hub, f"{PO}|r0")["status"] == "finished"


def test_restart_mid_saga_resumes_without_repeating(deployment: Deployment) -> None:
    clock = ManualClock(FRIDAY_17.timestamp())
    supplier, erp = FakeSink("supplier"), FakeSink("erp")
    sinks = {"supplier": supplier, "erp": erp}

    def start() -> Hub:
        return deployment.hub(flows=procurement_flows(SETTINGS), sinks=sinks, clock=clock, durable=True)

    hub = start()
    supplier.down = True
    submit(hub, po())
    hub.journal.close()
    hub.state.close()
    supplier.down = False
    clock.advance(60)
    again = start()
    again.drain()
    again.ingest.submit_sync([po()])  # the source redelivers after the restart
    again.drain()
    assert supplier.names() == ["send_purchase_order"]
    again.journal.close()
    again.state.close()
    clock.advance(datetime(2027, 1, 18, 9, 2, tzinfo=BERLIN).timestamp() - clock.now())
    third = start()
    third.drain()
    assert kinds(third) == ["ack-sla-missed"]  # the timer survived two restarts
    submit(third, ack([{"line": 10, "status": "changed", "quantity": qty(90)},
                       {"line": 20, "status": "accepted"}]))
    assert erp.names() == ["update_po_lines"] and supplier.calls == 2
    assert instance(third, f"{PO}|r0")["status"] == "finished"
    third.close()


def released(order_id: str, items: list[str], start_hours: int = 2) -> dict[str, Any]:
    start = datetime(2027, 1, 18, 6, tzinfo=UTC) + timedelta(hours=start_hours)
    return event("erp/plant-1000", f"ORD-{order_id}/released", "production.order.released",
                 {"order_id": order_id, "plant": "1000", "item_id": "FG-PUMP-100", "quantity": qty(10),
                  "scheduled_start": start.isoformat(),
                  "scheduled_end": (start + timedelta(hours=4)).isoformat(),
                  "components": [{"line": 10 * (i + 1), "item_id": c, "quantity": qty(5),
                                  "storage_location": "RM01"} for i, c in enumerate(items)]}, start, "1000")


def completed(order_id: str) -> dict[str, Any]:
    at = datetime(2027, 1, 18, 12, tzinfo=UTC)
    return event("mes/plant-1000", f"COMP-{order_id}", "production.goods.completed",
                 {"order_id": order_id, "plant": "1000", "completion_id": f"{order_id}-1",
                  "item_id": "FG-PUMP-100", "yield_quantity": qty(10), "scrap_quantity": qty(0),
                  "lot": "L1", "storage_location": "FG01", "final": True, "completed_at": at.isoformat()},
                 at, "1000")


def delayed(eid: str = "DLY-1", lines: list[int] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"po_number": PO, "supplier_id": "SUP-100", "original_date": "2027-01-25",
                            "new_date": "2027-01-29", "reason": "carrier capacity"}
    if lines is not None:
        data["lines"] = lines
    return event("supplier/SUP-100", eid, "procurement.shipment.delayed", data, FRIDAY_17, "1000")


def test_shipment_delay_flags_the_open_orders_that_need_its_items(world: World) -> None:
    hub, _, _, _ = world
    submit(hub, po(), released("1000001", ["RM-HOUSING-A", "RM-BOLT-M8"]),
           released("1000002", ["RM-SEAL-KIT"], start_hours=1), released("1000003", ["RM-BOLT-M8"]),
           released("1000004", ["RM-HOUSING-A"]), completed("1000004"))
    submit(hub, delayed())
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "supply-delay" and ex["supplier"] == "SUP-100" and ex["plant"] == "1000"
    assert ex["details"]["orders"] == ["1000002", "1000001"]  # by scheduled start; 1000004 is done
    assert "2027-01-29" in ex["message"]


def test_delay_of_some_lines_only_and_delay_before_the_po(world: World) -> None:
    hub, _, _, _ = world
    submit(hub, released("1000001", ["RM-HOUSING-A"]), released("1000002", ["RM-SEAL-KIT"]))
    submit(hub, delayed(lines=[20]))  # before the PO reached the hub: waits for it
    assert kinds(hub) == []
    submit(hub, po())
    [ex] = hub.exceptions.list()
    assert ex["details"]["orders"] == ["1000002"] and ex["details"]["items"] == ["RM-SEAL-KIT"]
    submit(hub, delayed(eid="DLY-1-again", lines=[20]))  # the same delay again
    assert len(hub.exceptions.list()) == 1


def test_delay_that_no_open_order_needs_is_only_noted(world: World) -> None:
    hub, _, _, _ = world
    submit(hub, po(), released("1000001", ["RM-BOLT-M8"]), completed("1000009"),
           released("1000009", ["RM-SEAL-KIT"]))
    submit(hub, delayed())
    assert kinds(hub) == []  # 1000009 completed before its release reached the hub: not open
    assert instance(hub, f"po|{PO}", "supply-delay")["state"]["notes"]


def test_delay_reads_the_atp_reservations_when_the_hub_runs_them(deployment: Deployment) -> None:
    from plantwire.projections.atp import Atp
    from plantwire.projections.inventory import Inventory

    clock = ManualClock(FRIDAY_17.timestamp())
    sinks = {"supplier": FakeSink("supplier"), "erp": FakeSink("erp")}
    hub = deployment.hub(subscribers=[Inventory(), Atp()], clock=clock, flows=procurement_flows(SETTINGS),
                         sinks=sinks)
    receipt = {"receipt_id": "5000001", "po_number": "4500000099", "plant": "1000",
               "received_at": FRIDAY_17.isoformat(),
               "lines": [{"line": 1, "po_line": 10, "item_id": "RM-HOUSING-A", "quantity": qty(50),
                          "storage_location": "RM01"}]}
    consumed = {"order_id": "1000001", "plant": "1000", "consumption_id": "1000001-1",
                "item_id": "RM-HOUSING-A", "quantity": qty(5), "storage_location": "RM01",
                "consumed_at": FRIDAY_17.isoformat()}
    submit(hub, po(), event("wms/plant-1000", "GR-5000001", "procurement.goods.received", receipt,
                            FRIDAY_17, "1000"),
           released("1000001", ["RM-HOUSING-A"]), released("1000002", ["RM-HOUSING-A"]),
           event("mes/plant-1000", "CONS-1", "production.component.consumed", consumed, FRIDAY_17, "1000"))
    submit(hub, delayed())
    [ex] = hub.exceptions.list()
    assert ex["details"]["orders"] == ["1000002"]  # 1000001 already has all it needs of the item


def test_procurement_flows_are_distinct() -> None:
    flows = procurement_flows(ProcurementSettings())
    assert sorted(f.name for f in flows) == ["po-ack", "quality-hold", "receipt", "supply-delay", "transfer"]
