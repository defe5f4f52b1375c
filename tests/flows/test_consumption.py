"""Flow 2, consumption -> inventory decrement (and backflush), through the hub with fake sinks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deployments import Deployment

from plantwire.bootstrap import Hub
from plantwire.clocks import ManualClock
from plantwire.errors import BusinessRuleViolation, TargetUnavailable
from plantwire.flows.api import Command
from plantwire.flows.catalog.consumption import ConsumptionFlow
from plantwire.flows.catalog.settings import FlowSettings, PlantDefaults
from plantwire.flows.runtime import instances
from plantwire.projections.atp import Atp
from plantwire.projections.inventory import Inventory
from plantwire.simulators.scenario import event, qty

T = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
GRACE = FlowSettings().consumption_grace_seconds


class FakeErp:
    """An ERP that posts each idempotency key once; can be down, or refuse goods issues."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.down = False
        self.refuse = False

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            raise TargetUnavailable("ERP answered 503")
        if self.refuse:
            raise BusinessRuleViolation("M7 021: deficit of unrestricted-use stock")
        doc = self.documents.setdefault(
            idempotency_key, {"doc": f"49{len(self.documents) + 1:08d}", **command.payload}
        )
        return {"document": doc["doc"]}

    def issued(self) -> list[tuple[str, str]]:
        return [(d["item_id"], d["quantity"]["value"]) for d in self.documents.values()]


def ev(type_: str, id_: str, data: dict[str, Any], source: str = "mes/plant-1000") -> dict[str, Any]:
    return event(source, id_, type_, {"plant": "1000", **data}, T, "1000")


def released(order: str, comps: list[tuple[str, int]], loc: str | None = "RM01") -> dict[str, Any]:
    return ev(
        "production.order.released",
        f"REL-{order}",
        {
            "order_id": order,
            "item_id": "FG-1",
            "quantity": qty(10),
            "scheduled_start": T.isoformat(),
            "scheduled_end": T.isoformat(),
            "components": [
                {"line": 10 * (i + 1), "item_id": c, "quantity": qty(n), "storage_location": loc}
                for i, (c, n) in enumerate(comps)
            ],
        },
        "erp/plant-1000",
    )


def consumed(order: str, cid: str, item: str, n: int, id_: str = "") -> dict[str, Any]:
    return ev(
        "production.component.consumed",
        id_ or f"CONS-{cid}",
        {
            "order_id": order,
            "consumption_id": cid,
            "item_id": item,
            "quantity": qty(n),
            "storage_location": "RM01",
            "consumed_at": T.isoformat(),
        },
    )


def received(item: str, n: int, rid: str) -> dict[str, Any]:
    return ev(
        "procurement.goods.received",
        f"GR-{rid}",
        {
            "receipt_id": rid,
            "po_number": "P0",
            "received_at": T.isoformat(),
            "lines": [
                {"line": 1, "po_line": 10, "item_id": item, "quantity": qty(n), "storage_location": "RM01"}
            ],
        },
        "wms/plant-1000",
    )


def completed(order: str, cid: str, final: bool) -> dict[str, Any]:
    return ev(
        "production.goods.completed",
        f"COMP-{cid}",
        {
            "order_id": order,
            "completion_id": cid,
            "item_id": "FG-1",
            "yield_quantity": qty(5),
            "storage_location": "FG01",
            "completed_at": T.isoformat(),
            "final": final,
        },
    )


class World:
    def __init__(self, deployment: Deployment, settings: FlowSettings | None = None) -> None:
        self.clock, self.erp = ManualClock(), FakeErp()
        self.hub = deployment.hub(
            subscribers=[Inventory(), Atp()],
            clock=self.clock,
            flows=[ConsumptionFlow(settings or FlowSettings())],
            sinks={"erp": self.erp},
        )

    def feed(self, *events: dict[str, Any]) -> None:
        self.hub.ingest.submit_sync(list(events))
        self.hub.drain()

    def instance(self, key: str = "O1") -> dict[str, Any]:
        with self.hub.state.transaction() as tx:
            found = tx.get(instances("consumption"), key)
        assert found is not None
        return found

    def kinds(self) -> list[str]:
        return sorted(e["kind"] for e in self.hub.exceptions.list())


def test_each_consumption_posts_one_goods_issue_and_the_saga_closes_after_the_grace_period(
    deployment: Deployment
) -> None:
    w = World(deployment)
    w.feed(received("RM-A", 100, "R1"), released("O1", [("RM-A", 30)]))
    w.feed(consumed("O1", "C1", "RM-A", 12), consumed("O1", "C2", "RM-A", 12))
    assert w.erp.issued() == [("RM-A", "12"), ("RM-A", "12")]  # two real consumptions, two documents
    [doc, _] = w.erp.documents.values()
    assert doc["movement"] == "goods_issue_to_order" and doc["order_id"] == "O1"
    assert doc["storage_location"] == "RM01" and doc["text"] == "MES consumption C1"
    assert set(w.erp.documents) == {"consumption/O1/gi/C1", "consumption/O1/gi/C2"}
    w.feed(completed("O1", "K1", final=True))
    assert w.instance()["status"] == "running"  # late consumptions are still welcome
    w.clock.advance(GRACE)
    w.hub.drain()
    assert w.instance()["outcome"] == "posted" and w.hub.exceptions.list() == []


def test_a_resent_consumption_posts_once(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(received("RM-A", 100, "R1"))
    again = consumed("O1", "C1", "RM-A", 12)
    w.feed(again, again, consumed("O1", "C1", "RM-A", 12, id_="CONS-C1-resent"))
    assert w.erp.issued() == [("RM-A", "12")]
    assert w.instance()["state"]["duplicates"] == 1


def test_consumption_before_release_is_posted(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(received("RM-A", 100, "R1"), consumed("O1", "C1", "RM-A", 12), released("O1", [("RM-A", 30)]))
    assert w.erp.issued() == [("RM-A", "12")] and w.hub.exceptions.list() == []


def test_overconsumption_is_an_exception_and_the_erps_refusal_another(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(received("RM-A", 5, "R1"))
    w.erp.refuse = True
    w.feed(consumed("O1", "C1", "RM-A", 8))
    over, refused = sorted(w.hub.exceptions.list(), key=lambda e: e["kind"])[::-1]
    assert over["kind"] == "overconsumption" and over["details"]["short"] == "3"
    assert "only 5 EA unrestricted stock is known" in over["message"] and over["plant"] == "1000"
    assert (
        refused["kind"] == "goods-issue-failed" and "deficit of unrestricted-use stock" in refused["message"]
    )
    assert w.erp.documents == {}


def test_overconsumption_still_posts_when_the_erp_has_the_stock(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(consumed("O1", "C1", "RM-A", 8))
    assert w.kinds() == ["overconsumption"] and w.erp.issued() == [("RM-A", "8")]


def test_backflush_issues_the_unconsumed_remainder_on_the_final_completion(deployment: Deployment) -> None:
    w = World(deployment, FlowSettings(backflush=True))
    w.feed(
        received("RM-A", 100, "R1"),
        received("RM-B", 100, "R2"),
        released("O1", [("RM-A", 30), ("RM-B", 10)]),
        consumed("O1", "C1", "RM-A", 12),
    )
    w.feed(completed("O1", "K1", final=False))
    assert w.erp.issued() == [("RM-A", "12")]
    w.feed(completed("O1", "K2", final=True))
    assert w.erp.issued() == [("RM-A", "12"), ("RM-A", "18"), ("RM-B", "10")]
    w.feed(consumed("O1", "C2", "RM-B", 2))  # the MES reports late
    assert w.kinds() == ["consumption-after-backflush"]
    [ex] = w.hub.exceptions.list()
    assert "reverse ERP document 4900000003" in ex["action"]
    w.clock.advance(GRACE)
    w.hub.drain()
    assert w.instance()["outcome"] == "posted"


def test_backflush_per_plant_and_waiting_for_a_late_release(deployment: Deployment) -> None:
    w = World(deployment, FlowSettings(plants={"1000": PlantDefaults(backflush=True, issue_location="RM09")}))
    w.feed(received("RM-A", 100, "R1"), completed("O1", "K1", final=True))
    assert w.erp.documents == {}
    w.feed(released("O1", [("RM-A", 30)], loc=None))
    [doc] = w.erp.documents.values()
    assert (doc["item_id"], doc["quantity"]["value"], doc["storage_location"]) == ("RM-A", "30", "RM09")


def test_backflush_without_a_location_and_without_a_release_raise_exceptions(deployment: Deployment) -> None:
    w = World(deployment, FlowSettings(backflush=True))
    w.feed(
        released("O1", [("RM-A", 30)], loc=None),
        completed("O1", "K1", final=True),
        completed("O2", "K2", final=True),
    )
    w.clock.advance(GRACE)
    w.hub.drain()
    assert w.kinds() == ["backflush-failed", "backflush-skipped"] and w.erp.documents == {}


def test_refused_backflush_raises_an_exception(deployment: Deployment) -> None:
    w = World(deployment, FlowSettings(backflush=True))
    w.feed(received("RM-A", 100, "R1"), released("O1", [("RM-A", 30)]))
    w.erp.refuse = True
    w.feed(completed("O1", "K1", final=True))
    assert w.kinds() == ["backflush-failed"]


def test_erp_down_then_back_posts_one_document(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(received("RM-A", 100, "R1"))
    w.erp.down = True
    w.feed(consumed("O1", "C1", "RM-A", 12))
    w.clock.advance(1)
    w.hub.drain()
    assert w.erp.calls >= 2 and w.erp.documents == {}
    w.erp.down = False
    w.clock.advance(30)
    w.hub.drain()
    assert w.erp.issued() == [("RM-A", "12")]


def test_restart_mid_saga_resumes_and_posts_nothing_twice(deployment: Deployment) -> None:
    clock, erp = ManualClock(), FakeErp()

    def start() -> Hub:
        return deployment.hub(
            subscribers=[Inventory(), Atp()],
            flows=[ConsumptionFlow(FlowSettings(backflush=True))],
            sinks={"erp": erp},
            clock=clock,
            durable=True,
        )

    hub = start()
    hub.ingest.submit_sync(
        [received("RM-A", 100, "R1"), released("O1", [("RM-A", 30)]), consumed("O1", "C1", "RM-A", 12)]
    )
    hub.drain()
    erp.down = True
    hub.ingest.submit_sync([consumed("O1", "C2", "RM-A", 5), completed("O1", "K1", final=True)])
    hub.drain()
    hub.close()
    erp.down = False
    clock.advance(GRACE)
    again = start()
    again.ingest.submit_sync([consumed("O1", "C2", "RM-A", 5)])  # the MES resends after the outage
    again.drain()
    assert erp.issued() == [("RM-A", "12"), ("RM-A", "5"), ("RM-A", "13")]
    with again.state.transaction() as tx:
        assert tx.get(instances("consumption"), "O1")["outcome"] == "posted"
    again.close()
