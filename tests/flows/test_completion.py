"""Flow 3, completion -> warehouse availability, through the hub with fake WMS and ERP."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from deployments import Deployment

from plantwire.bootstrap import Hub
from plantwire.clocks import ManualClock
from plantwire.errors import BusinessRuleViolation, TargetUnavailable
from plantwire.flows.api import Command
from plantwire.flows.catalog.completion import CompletionFlow, variance_pct
from plantwire.flows.catalog.settings import FlowSettings, PlantDefaults
from plantwire.flows.runtime import instances
from plantwire.projections.atp import Atp, atp_view
from plantwire.projections.inventory import Inventory
from plantwire.simulators.scenario import event, qty

T = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


class FakeSink:
    """A target that acts once per idempotency key; can be down or refuse commands by name."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.effects: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.down = False
        self.refuse: set[str] = set()

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            raise TargetUnavailable("connection refused")
        if command.name in self.refuse:
            raise BusinessRuleViolation(f"{command.name}: not allowed for this order")
        doc = self.effects.setdefault(
            idempotency_key,
            {"doc": f"{self.prefix}{len(self.effects) + 1}", "name": command.name, **command.payload},
        )
        return {"document": doc["doc"]}

    def names(self) -> list[str]:
        return [v["name"] for v in self.effects.values()]


def ev(type_: str, id_: str, data: dict[str, Any], source: str = "mes/plant-1000") -> dict[str, Any]:
    return event(source, id_, type_, {"plant": "1000", **data}, T, "1000")


def released(order: str = "O1", n: int = 10) -> dict[str, Any]:
    return ev(
        "production.order.released",
        f"REL-{order}",
        {
            "order_id": order,
            "item_id": "FG-1",
            "quantity": qty(n),
            "scheduled_start": T.isoformat(),
            "scheduled_end": T.isoformat(),
            "components": [
                {"line": 10, "item_id": "RM-A", "quantity": qty(3 * n), "storage_location": "RM01"},
                {"line": 20, "item_id": "RM-B", "quantity": qty(n), "storage_location": "RM01"},
            ],
        },
        "erp/plant-1000",
    )


def completed(
    cid: str, good: int, final: bool, scrap: int = 0, order: str = "O1", id_: str = ""
) -> dict[str, Any]:
    return ev(
        "production.goods.completed",
        id_ or f"COMP-{cid}",
        {
            "order_id": order,
            "completion_id": cid,
            "item_id": "FG-1",
            "yield_quantity": qty(good),
            "scrap_quantity": qty(scrap),
            "lot": "L7",
            "storage_location": "FG01",
            "completed_at": T.isoformat(),
            "final": final,
        },
    )


class World:
    def __init__(self, deployment: Deployment, settings: FlowSettings | None = None) -> None:
        self.clock, self.wms, self.erp = ManualClock(), FakeSink("TO"), FakeSink("50")
        self.hub = deployment.hub(
            subscribers=[Inventory(), Atp()],
            clock=self.clock,
            flows=[CompletionFlow(settings or FlowSettings())],
            sinks={"wms": self.wms, "erp": self.erp},
        )

    def feed(self, *events: dict[str, Any]) -> None:
        self.hub.ingest.submit_sync(list(events))
        self.hub.drain()

    def instance(self, key: str = "O1") -> dict[str, Any]:
        with self.hub.state.transaction() as tx:
            found = tx.get(instances("completion"), key)
        assert found is not None
        return found


def test_each_completion_is_put_away_and_received_and_atp_shows_it(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(released(), completed("K1", 4, final=False))
    assert w.wms.names() == ["create_putaway"] and w.erp.names() == ["post_goods_movement"]
    w.feed(completed("K2", 6, final=True))
    [gr1, gr2] = w.erp.effects.values()
    assert gr2["movement"] == "goods_receipt_from_order" and gr2["quantity"] == {"value": "6", "uom": "EA"}
    assert gr2["lot"] == "L7" and gr2["order_id"] == "O1" and gr1["quantity"]["value"] == "4"
    [put1, _] = w.wms.effects.values()
    assert put1["from_location"] == "FG01" and put1["lot"] == "L7"
    inst = w.instance()
    assert inst["outcome"] == "completed" and inst["state"]["docs"]["gr/K2"] == "502"
    assert inst["state"]["undo"]["K2"] == {"document": "502", "reason": "put-away of completion K2 refused"}
    assert w.hub.exceptions.list() == []
    with w.hub.state.transaction() as tx:
        [row] = atp_view(tx, item="FG-1")
    assert (row["location"], row["lot"], row["on_hand"], row["atp"]) == ("FG01", "L7", "10", "10")


def test_yield_variance_beyond_the_threshold_names_the_affected_components(deployment: Deployment) -> None:
    assert variance_pct(Decimal(8), Decimal(10)) == Decimal(-20)
    w = World(deployment)
    w.feed(released(), completed("K1", 5, final=False), completed("K2", 3, final=True, scrap=2))
    [ex] = w.hub.exceptions.list()
    assert ex["kind"] == "replenishment-risk" and ex["plant"] == "1000"
    assert "final yield 8 EA is 20.0% short of the released 10 EA (threshold 5%)" in ex["message"]
    assert "RM-A (6 EA); RM-B (2 EA)" in ex["message"]
    assert ex["details"]["components"] == [
        {"item": "RM-A", "quantity": "6", "uom": "EA"},
        {"item": "RM-B", "quantity": "2", "uom": "EA"},
    ]
    assert w.instance()["outcome"] == "completed"


def test_yield_within_the_plants_threshold_raises_nothing(deployment: Deployment) -> None:
    w = World(deployment, FlowSettings(plants={"1000": PlantDefaults(yield_variance_pct=Decimal(25))}))
    w.feed(released(), completed("K1", 8, final=True, scrap=2))
    assert w.hub.exceptions.list() == []


def test_completion_before_release_checks_the_variance_when_the_release_arrives(
    deployment: Deployment
) -> None:
    w = World(deployment)
    w.feed(completed("K1", 12, final=True))
    assert w.erp.names() == ["post_goods_movement"] and w.instance()["status"] == "running"
    w.feed(released())
    [ex] = w.hub.exceptions.list()
    assert ex["kind"] == "replenishment-risk" and "20.0% over" in ex["message"]
    assert w.instance()["outcome"] == "completed"


def test_a_resent_completion_is_put_away_and_received_once(deployment: Deployment) -> None:
    w = World(deployment)
    again = completed("K1", 4, final=False)
    w.feed(released(), again, again, completed("K1", 4, final=False, id_="COMP-K1-resent"))
    assert w.wms.names() == ["create_putaway"] and w.erp.names() == ["post_goods_movement"]
    assert w.instance()["state"]["duplicates"] == 1


def test_a_scrap_only_final_completion_sends_nothing(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(released(), completed("K1", 10, final=False), completed("K2", 0, final=True))
    assert len(w.erp.effects) == 1 and w.instance()["outcome"] == "completed"


def test_wms_down_then_back_gives_one_putaway_and_one_receipt(deployment: Deployment) -> None:
    w = World(deployment)
    w.wms.down = True
    w.feed(released(), completed("K1", 10, final=True))
    assert w.wms.effects == {} and w.erp.effects == {}  # the receipt waits behind the put-away
    w.wms.down = False
    w.clock.advance(5)
    w.hub.drain()
    assert w.wms.names() == ["create_putaway"] and w.erp.names() == ["post_goods_movement"]
    assert w.instance()["outcome"] == "completed"


def test_refused_goods_receipt_raises_an_exception(deployment: Deployment) -> None:
    w = World(deployment)
    w.erp.refuse.add("post_goods_movement")
    w.feed(released(), completed("K1", 10, final=True))
    [ex] = w.hub.exceptions.list()
    assert ex["kind"] == "goods-receipt-failed" and "not allowed for this order" in ex["message"]
    assert w.wms.names() == ["create_putaway"]
    assert w.instance()["outcome"] == "completed"


def test_refused_putaway_reverses_the_receipt_with_its_document_number(deployment: Deployment) -> None:
    w = World(deployment)
    w.wms.refuse.add("create_putaway")
    w.feed(released(), completed("K1", 10, final=True))
    assert w.erp.names() == ["post_goods_movement", "reverse_document"]
    reversal = list(w.erp.effects.values())[1]
    assert reversal["document"] == "501"
    [ex] = w.hub.exceptions.list()
    assert ex["kind"] == "putaway-failed" and "receipt is reversed" in ex["message"]
    assert w.instance()["outcome"] == "completed"


def test_refused_reversal_raises_an_exception(deployment: Deployment) -> None:
    w = World(deployment)
    w.wms.refuse.add("create_putaway")
    w.erp.refuse.add("reverse_document")
    w.feed(released(), completed("K1", 10, final=True))
    assert sorted(e["kind"] for e in w.hub.exceptions.list()) == ["putaway-failed", "reversal-failed"]
    assert any("reverse document 501 by hand" in e["action"] for e in w.hub.exceptions.list())


def test_restart_mid_saga_resumes_and_receives_once(deployment: Deployment) -> None:
    clock, wms, erp = ManualClock(), FakeSink("TO"), FakeSink("50")

    def start() -> Hub:
        return deployment.hub(
            subscribers=[Inventory(), Atp()],
            flows=[CompletionFlow(FlowSettings())],
            sinks={"wms": wms, "erp": erp},
            clock=clock,
            durable=True,
        )

    hub = start()
    erp.down = True
    hub.ingest.submit_sync([released(), completed("K1", 10, final=True)])
    hub.drain()
    assert wms.names() == ["create_putaway"] and erp.effects == {}
    hub.close()
    erp.down = False
    clock.advance(60)
    again = start()
    again.ingest.submit_sync([completed("K1", 10, final=True)])  # the MES resends after the restart
    again.drain()
    assert wms.names() == ["create_putaway"] and erp.names() == ["post_goods_movement"]
    with again.state.transaction() as tx:
        assert tx.get(instances("completion"), "O1")["outcome"] == "completed"
    again.close()
