"""Flow 6 "quality-hold": block in the WMS and the ERP, confirmations with a deadline, release."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from deployments import Deployment
from flow_fakes import FakeSink

from plantwire.bootstrap import Hub
from plantwire.clocks import ManualClock
from plantwire.flows.catalog.procurement_settings import ProcurementSettings
from plantwire.flows.catalog.quality_hold import QualityHold
from plantwire.simulators.scenario import event, qty

NOW = datetime(2027, 1, 15, 8, tzinfo=UTC)
SETTINGS = ProcurementSettings(hold_ack_deadline_seconds=600)
HOLD = "QH-1000001"


def stock(receipt_id: str, location: str, amount: int, lot: str = "L1") -> dict[str, Any]:
    return event("wms/plant-1000", f"GR-{receipt_id}", "procurement.goods.received",
                 {"receipt_id": receipt_id, "po_number": "4500000001", "plant": "1000",
                  "received_at": NOW.isoformat(),
                  "lines": [{"line": 1, "po_line": 10, "item_id": "RM-HOUSING-A", "quantity": qty(amount),
                             "lot": lot, "storage_location": location}]}, NOW, "1000")


def placed(quantity: int | None = None, location: str | None = None, eid: str = "QH-1") -> dict[str, Any]:
    data: dict[str, Any] = {"hold_id": HOLD, "plant": "1000", "item_id": "RM-HOUSING-A", "lot": "L1",
                            "reason_code": "VISUAL", "reason": "scratches on housing",
                            "placed_at": NOW.isoformat()}
    if quantity is not None:
        data["quantity"] = qty(quantity)
    if location is not None:
        data["storage_location"] = location
    return event("qms/plant-1000", eid, "quality.hold.placed", data, NOW, "1000")


def released(disposition: str = "release") -> dict[str, Any]:
    return event("qms/plant-1000", f"QR-{disposition}", "quality.hold.released",
                 {"hold_id": HOLD, "plant": "1000", "disposition": disposition,
                  "released_at": NOW.isoformat()}, NOW, "1000")


World = tuple[Hub, ManualClock, FakeSink, FakeSink]


@pytest.fixture
def world(deployment: Deployment) -> World:
    clock = ManualClock(NOW.timestamp())
    wms, erp = FakeSink("wms"), FakeSink("erp")
    hub = deployment.hub(clock=clock, flows=[QualityHold(SETTINGS)], sinks={"wms": wms, "erp": erp})
    submit(hub, stock("1", "RM01", 30), stock("2", "RM02", 5), stock("3", "RM01", 7, lot="L2"))
    return hub, clock, wms, erp


def submit(hub: Hub, *events: dict[str, Any]) -> None:
    results = hub.ingest.submit_sync(list(events))
    assert all(r.status != "rejected" for r in results), results
    hub.drain()


def instance(hub: Hub) -> dict[str, Any]:
    with hub.state.transaction() as tx:
        found = tx.get("flow:quality-hold", HOLD)
    assert found is not None
    return dict(found)


def kinds(hub: Hub) -> list[str]:
    return [e["kind"] for e in hub.exceptions.list()]


def test_hold_blocks_both_targets_and_release_unblocks_them(world: World) -> None:
    hub, clock, wms, erp = world
    submit(hub, placed(12, "RM01"), placed(12, "RM01", eid="QH-1-again"))
    assert wms.names() == ["block_lot"] and erp.movements() == [("block", "RM01", "12")]
    clock.advance(3600)
    hub.drain()
    assert kinds(hub) == []  # both confirmed before the deadline
    submit(hub, released())
    assert wms.names() == ["block_lot", "unblock_lot"]
    assert erp.movements() == [("block", "RM01", "12"), ("unblock", "RM01", "12")]
    assert instance(hub)["outcome"] == "released"


def test_quantity_comes_from_stock_on_hand_when_the_event_has_none(world: World) -> None:
    hub, _, _, erp = world
    submit(hub, placed())
    assert sorted(erp.movements()) == [("block", "RM01", "30"), ("block", "RM02", "5")]  # lot L1 only
    submit(hub, released())
    assert sorted(m for m in erp.movements() if m[0] == "unblock") == [("unblock", "RM01", "30"),
                                                                        ("unblock", "RM02", "5")]


def test_quantity_given_without_location_uses_the_one_place_the_lot_is(world: World) -> None:
    hub, _, _, erp = world
    submit(hub, stock("9", "RM03", 4, lot="L9"))
    submit(hub, event("qms/plant-1000", "QH-9", "quality.hold.placed",
                      {"hold_id": HOLD, "plant": "1000", "item_id": "RM-HOUSING-A", "lot": "L9",
                       "quantity": qty(4), "reason_code": "VISUAL", "reason": "dents",
                       "placed_at": NOW.isoformat()}, NOW, "1000"))
    assert erp.movements() == [("block", "RM03", "4")]


@pytest.mark.parametrize("hold", [placed(3), event(
    "qms/plant-1000", "QH-x", "quality.hold.placed",
    {"hold_id": HOLD, "plant": "1000", "item_id": "RM-HOUSING-A", "lot": "NOPE", "reason_code": "VISUAL",
     "reason": "dents", "placed_at": NOW.isoformat()}, NOW, "1000")], ids=["lot-in-two-places", "no-stock"])
def test_unknown_quantity_blocks_the_wms_only_and_raises(world: World, hold: dict[str, Any]) -> None:
    hub, _, wms, erp = world
    submit(hub, hold)
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "hold-quantity-unknown" and ex["plant"] == "1000"
    assert wms.names() == ["block_lot"] and erp.effects == {}


def test_target_not_confirming_in_time_is_named_and_a_late_confirmation_noted(world: World) -> None:
    hub, clock, wms, erp = world
    erp.down = True
    submit(hub, placed(12, "RM01"))
    clock.advance(599)
    hub.drain()
    assert kinds(hub) == []
    clock.advance(1)
    hub.drain()
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "hold-not-confirmed" and ex["details"]["target"] == "erp" and "erp" in ex["message"]
    assert wms.names() == ["block_lot"]
    erp.down = False
    clock.advance(3600)
    hub.drain()
    assert erp.movements() == [("block", "RM01", "12")]
    assert any("after its deadline" in n for n in instance(hub)["state"]["notes"])
    assert len(hub.exceptions.list()) == 1


def test_target_refusing_the_block_raises_and_is_not_unblocked(world: World) -> None:
    hub, _, wms, erp = world
    wms.refuse = lambda c: True
    submit(hub, placed(12, "RM01"))
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "hold-failed" and ex["details"]["target"] == "wms"
    submit(hub, released())
    assert wms.effects == {} and erp.movements() == [("block", "RM01", "12"), ("unblock", "RM01", "12")]
    assert instance(hub)["outcome"] == "released"


def test_release_while_a_block_is_still_on_its_way(world: World) -> None:
    hub, clock, _, erp = world
    erp.down = True
    submit(hub, placed(12, "RM01"), released())
    assert instance(hub)["status"] == "running"
    erp.down = False
    clock.advance(60)
    hub.drain()
    assert erp.movements() == [("block", "RM01", "12"), ("unblock", "RM01", "12")]
    assert instance(hub)["outcome"] == "released"
    clock.advance(3600)
    hub.drain()
    assert kinds(hub) == []


def test_release_before_the_hold_blocks_nothing(world: World) -> None:
    hub, _, wms, erp = world
    submit(hub, released())
    submit(hub, placed(12, "RM01"))
    assert wms.effects == {} and erp.effects == {}
    assert instance(hub)["outcome"] == "released-before-placed"


@pytest.mark.parametrize("disposition", ["scrap", "rework", "return_to_supplier"])
def test_other_dispositions_keep_the_block_and_ask_for_the_erp(world: World, disposition: str) -> None:
    hub, _, wms, erp = world
    submit(hub, placed(12, "RM01"))
    submit(hub, released(disposition))
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "hold-disposition" and ex["details"]["disposition"] == disposition
    assert wms.names() == ["block_lot"] and erp.movements() == [("block", "RM01", "12")]
    assert instance(hub)["outcome"] == f"disposition-{disposition}"


def test_refused_unblock_raises(world: World) -> None:
    hub, _, wms, _ = world
    submit(hub, placed(12, "RM01"))
    wms.refuse = lambda c: c.name == "unblock_lot"
    submit(hub, released())
    assert kinds(hub) == ["release-failed"]
    assert instance(hub)["outcome"] == "released"


def test_restart_mid_saga_keeps_the_deadline_and_blocks_once(deployment: Deployment) -> None:
    clock, wms, erp = ManualClock(NOW.timestamp()), FakeSink("wms"), FakeSink("erp")
    sinks = {"wms": wms, "erp": erp}

    def start() -> Hub:
        return deployment.hub(flows=[QualityHold(SETTINGS)], sinks=sinks, clock=clock, durable=True)

    hub = start()
    wms.down = True
    submit(hub, placed(12, "RM01"))
    hub.journal.close()
    hub.state.close()
    clock.advance(600)
    again = start()
    again.drain()
    # the relay sends an instance's commands one at a time, so the ERP block waits behind the WMS's
    assert sorted(e["details"]["target"] for e in again.exceptions.list()) == ["erp", "wms"]
    wms.down = False
    clock.advance(3600)
    again.ingest.submit_sync([placed(12, "RM01", eid="QH-1-redelivered")])
    again.drain()
    submit(again, released())
    assert wms.names() == ["block_lot", "unblock_lot"]
    assert erp.movements() == [("block", "RM01", "12"), ("unblock", "RM01", "12")]
    again.close()
