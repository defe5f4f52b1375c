"""Flow 7 "transfer": a stock transfer is posted to the ERP once, both sides in one document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from deployments import Deployment
from flow_fakes import FakeSink

from plantwire.bootstrap import Hub
from plantwire.clocks import ManualClock
from plantwire.flows.api import Command
from plantwire.flows.catalog.procurement_settings import ProcurementSettings
from plantwire.flows.catalog.transfer import Transfer
from plantwire.simulators.scenario import event, qty

NOW = datetime(2027, 1, 15, 8, tzinfo=UTC)
SETTINGS = ProcurementSettings(location_plants={"WH-2000": "2000"})


def transferred(transfer_id: str = "TR-1", to: str = "WH01", amount: int = 9, eid: str | None = None
                ) -> dict[str, Any]:
    return event("wms/plant-1000", eid or transfer_id, "inventory.transferred",
                 {"transfer_id": transfer_id, "plant": "1000", "item_id": "FG-PUMP-100", "lot": "L1",
                  "quantity": qty(amount), "from_location": "FG01", "to_location": to,
                  "transferred_at": NOW.isoformat()}, NOW, "1000")


World = tuple[Hub, ManualClock, FakeSink]


@pytest.fixture
def world(deployment: Deployment) -> World:
    clock, erp = ManualClock(NOW.timestamp()), FakeSink("erp")
    hub = deployment.hub(subscribers=[], clock=clock, flows=[Transfer(SETTINGS)], sinks={"erp": erp})
    return hub, clock, erp


def submit(hub: Hub, *events: dict[str, Any]) -> None:
    results = hub.ingest.submit_sync(list(events))
    assert all(r.status != "rejected" for r in results), results
    hub.drain()


def instance(hub: Hub, key: str = "TR-1") -> dict[str, Any]:
    with hub.state.transaction() as tx:
        found = tx.get("flow:transfer", key)
    assert found is not None
    return dict(found)


def test_transfer_posts_one_balanced_document(world: World) -> None:
    hub, _, erp = world
    submit(hub, transferred(), transferred(eid="TR-1-resent"))
    [move] = erp.effects.values()
    assert move.payload["movement"] == "transfer"
    assert (move.payload["storage_location"], move.payload["to_location"]) == ("FG01", "WH01")
    assert move.payload["quantity"] == {"value": "9", "uom": "EA"} and move.payload["lot"] == "L1"
    inst = instance(hub)
    assert inst["outcome"] == "posted" and inst["state"]["document"] == "ERP-1"
    assert hub.exceptions.list() == []


def test_transfers_out_of_order_each_post_once(world: World) -> None:
    hub, _, erp = world
    submit(hub, transferred("TR-2", to="WH02", amount=3), transferred("TR-1"))
    assert sorted(c.payload["to_location"] for c in erp.effects.values()) == ["WH01", "WH02"]


def test_erp_down_then_back_posts_once(world: World) -> None:
    hub, clock, erp = world
    erp.down = True
    submit(hub, transferred())
    clock.advance(30)
    hub.drain()
    erp.down = False
    clock.advance(300)
    hub.drain()
    assert erp.calls >= 2 and len(erp.effects) == 1 and instance(hub)["outcome"] == "posted"


def test_refused_transfer_raises_with_both_locations(world: World) -> None:
    hub, _, erp = world
    erp.refuse = lambda c: True
    submit(hub, transferred())
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "transfer-failed" and ex["plant"] == "1000"
    assert "FG01" in ex["action"] and "WH01" in ex["action"]
    assert instance(hub)["outcome"] == "failed"


def test_cross_plant_transfer_is_posted_and_noted_in_transit(world: World) -> None:
    hub, _, erp = world
    submit(hub, transferred(to="WH-2000"))
    [move] = erp.effects.values()
    assert "plant 2000" in move.payload["text"]
    inst = instance(hub)
    assert inst["outcome"] == "posted-in-transit" and inst["state"]["in_transit"]["to_plant"] == "2000"


def test_restart_mid_saga_posts_once(deployment: Deployment) -> None:
    clock, erp = ManualClock(NOW.timestamp()), FakeSink("erp")

    def start() -> Hub:
        return deployment.hub(subscribers=[], flows=[Transfer(SETTINGS)], sinks={"erp": erp}, clock=clock,
                              durable=True)

    hub = start()
    hub.ingest.submit_sync([transferred()])
    hub.drain(commands=False)
    with hub.state.transaction() as tx:
        [(_, row)] = tx.scan("outbox")
    erp.execute(row["id"], Command(**row["command"]))  # the ERP posted it, then the hub died
    hub.journal.close()
    hub.state.close()
    again = start()
    again.ingest.submit_sync([transferred(eid="TR-1-redelivered")])
    again.drain()
    assert erp.calls == 2 and len(erp.effects) == 1
    assert instance(again)["outcome"] == "posted"
    again.close()
