"""Flow 1, release -> material availability, through the hub with the ATP projection and fake sinks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deployments import Deployment

from plantwire.bootstrap import Hub
from plantwire.clocks import ManualClock
from plantwire.domain.quantities import UomConversion
from plantwire.errors import BusinessRuleViolation, TargetUnavailable
from plantwire.flows.api import Command
from plantwire.flows.catalog.release import ReleaseFlow
from plantwire.flows.catalog.settings import FlowSettings
from plantwire.flows.runtime import instances
from plantwire.projections.atp import Atp
from plantwire.projections.inventory import Inventory
from plantwire.simulators.scenario import event, qty

T = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
START = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # the order starts long after the test's clock


class FakeSink:
    """A target that takes each idempotency key once; can be down or refuse commands by name."""

    def __init__(self) -> None:
        self.effects: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.down = False
        self.refuse: set[str] = set()

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            raise TargetUnavailable("503 Service Unavailable")
        if command.name in self.refuse:
            raise BusinessRuleViolation(f"{command.name} refused: order unknown")
        doc = self.effects.setdefault(
            idempotency_key,
            {"doc": f"D{len(self.effects) + 1}", "name": command.name, "payload": command.payload},
        )
        return {"document": doc["doc"]}

    def names(self) -> list[str]:
        return [v["name"] for v in self.effects.values()]


def ev(type_: str, id_: str, data: dict[str, Any], source: str = "erp/plant-1000") -> dict[str, Any]:
    return event(source, id_, type_, {"plant": "1000", **data}, T, "1000")


def released(order: str, comps: list[tuple[str, int]], uom: str = "EA", id_: str = "") -> dict[str, Any]:
    return ev(
        "production.order.released",
        id_ or f"REL-{order}",
        {
            "order_id": order,
            "item_id": "FG-1",
            "quantity": qty(10),
            "scheduled_start": START.isoformat(),
            "scheduled_end": START.isoformat(),
            "work_center": "WC1",
            "components": [
                {"line": 10 * (i + 1), "item_id": c, "quantity": qty(n, uom), "storage_location": "RM01"}
                for i, (c, n) in enumerate(comps)
            ],
        },
    )


def received(po: str, item: str, n: int, rid: str, line: int = 10) -> dict[str, Any]:
    return ev(
        "procurement.goods.received",
        f"GR-{rid}",
        {
            "receipt_id": rid,
            "po_number": po,
            "received_at": T.isoformat(),
            "lines": [
                {"line": 1, "po_line": line, "item_id": item, "quantity": qty(n), "storage_location": "RM01"}
            ],
        },
        "wms/plant-1000",
    )


def approved(po: str, item: str, n: int, date: str) -> dict[str, Any]:
    return ev(
        "procurement.po.approved",
        f"PO-{po}",
        {
            "po_number": po,
            "revision": 0,
            "supplier_id": "SUP-9",
            "currency": "EUR",
            "approved_at": T.isoformat(),
            "lines": [{"line": 10, "item_id": item, "quantity": qty(n), "delivery_date": date}],
        },
    )


def final_completion(order: str) -> dict[str, Any]:
    return ev(
        "production.goods.completed",
        f"COMP-{order}",
        {
            "order_id": order,
            "completion_id": f"{order}-1",
            "item_id": "FG-1",
            "yield_quantity": qty(10),
            "storage_location": "FG01",
            "completed_at": T.isoformat(),
            "final": True,
        },
        "mes/plant-1000",
    )


class World:
    def __init__(self, deployment: Deployment, settings: FlowSettings | None = None) -> None:
        self.clock = ManualClock()
        self.wms, self.mes = FakeSink(), FakeSink()
        self.flow = ReleaseFlow(settings or FlowSettings())
        self.hub = deployment.hub(
            subscribers=[Inventory(), Atp()],
            clock=self.clock,
            flows=[self.flow],
            sinks={"wms": self.wms, "mes": self.mes},
        )

    def feed(self, *events: dict[str, Any]) -> None:
        self.hub.ingest.submit_sync(list(events))
        self.hub.drain()

    def instance(self, key: str) -> dict[str, Any]:
        with self.hub.state.transaction() as tx:
            found = tx.get(instances("release"), key)
        assert found is not None
        return found

    def staged(self) -> list[tuple[str, str]]:
        return [
            (ln["item_id"], ln["quantity"]["value"])
            for v in self.wms.effects.values()
            for ln in v["payload"]["lines"]
        ]


def test_happy_path_stages_everything_downloads_and_finishes(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(received("P0", "RM-A", 100, "R1"), received("P0", "RM-B", 50, "R2", line=20))
    w.feed(released("O1", [("RM-A", 30), ("RM-B", 20)]))
    assert w.staged() == [("RM-A", "30"), ("RM-B", "20")]
    assert w.mes.names() == ["download_order"]
    inst = w.instance("O1")
    assert inst["status"] == "finished" and inst["outcome"] == "staged"
    assert {c["status"] for c in inst["state"]["components"].values()} == {"staged"}
    assert w.hub.exceptions.list() == []


def test_shortage_names_the_earliest_covering_po_then_stages_the_rest_when_it_arrives(
    deployment: Deployment
) -> None:
    w = World(deployment)
    w.feed(
        approved("P-LATE", "RM-B", 40, "2026-12-09"),
        approved("P-SOON", "RM-B", 40, "2026-12-01"),
        received("P0", "RM-A", 100, "R1"),
        received("P0", "RM-B", 5, "R2", line=20),
    )
    w.feed(released("O1", [("RM-A", 30), ("RM-B", 20)]))
    [ex] = w.hub.exceptions.list()
    assert ex["kind"] == "shortage" and ex["plant"] == "1000" and ex["details"]["item"] == "RM-B"
    assert "short by 15 EA" in ex["message"] and "PO P-SOON line 10 due 2026-12-01" in ex["message"]
    assert ex["action"] == "expedite PO P-SOON (due 2026-12-01) or reschedule the order"
    assert ex["supplier"] == "SUP-9"
    assert w.staged() == [("RM-A", "30"), ("RM-B", "5")]
    assert w.instance("O1")["status"] == "running"
    w.clock.advance(900)
    w.feed()
    assert w.staged() == [("RM-A", "30"), ("RM-B", "5")]  # rechecked: still short, nothing more staged
    w.feed(received("P-SOON", "RM-B", 40, "R3"))
    w.clock.advance(900)
    w.hub.drain()
    assert w.staged() == [("RM-A", "30"), ("RM-B", "5"), ("RM-B", "15")]
    assert w.instance("O1")["outcome"] == "staged"
    assert len(w.hub.exceptions.list()) == 1  # one shortage, not one per recheck


def test_shortage_without_an_open_po_says_to_buy(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(released("O1", [("RM-A", 30)]))
    [ex] = w.hub.exceptions.list()
    assert "no open purchase order covers it" in ex["message"] and "short by 30 EA" in ex["message"]
    assert ex["action"] == "buy 30 EA of RM-A or reschedule the order"
    assert w.wms.effects == {} and w.mes.names() == ["download_order"]


def test_stock_reserved_by_another_order_is_not_available(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(received("P0", "RM-A", 40, "R1"), released("O1", [("RM-A", 30)]), released("O2", [("RM-A", 20)]))
    [ex] = w.hub.exceptions.list()
    assert ex["details"]["order"] == "O2" and ex["details"]["missing"] == "10"
    assert w.staged() == [("RM-A", "30"), ("RM-A", "10")]


def test_duplicate_and_repeated_releases_stage_and_download_once(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(received("P0", "RM-A", 100, "R1"))
    first = released("O1", [("RM-A", 30)])
    w.feed(first, first, released("O1", [("RM-A", 30)], id_="REL-O1/again"))
    assert w.wms.names() == ["request_staging"] and w.mes.names() == ["download_order"]


def test_completion_before_release_finishes_and_the_late_release_stages_nothing(
    deployment: Deployment
) -> None:
    w = World(deployment)
    w.feed(received("P0", "RM-A", 100, "R1"), final_completion("O1"))
    assert w.instance("O1")["outcome"] == "completed-before-release"
    w.feed(released("O1", [("RM-A", 30)]))
    assert w.wms.effects == {} and w.mes.effects == {} and w.instance("O1")["ignored"] == 1


def test_final_completion_ends_a_release_still_waiting_for_stock(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(released("O1", [("RM-A", 30)]), final_completion("O1"))
    assert w.instance("O1")["outcome"] == "completed"
    w.clock.advance(10_000)
    w.hub.drain()
    assert w.wms.effects == {}


def test_wms_down_then_back_stages_once(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(received("P0", "RM-A", 100, "R1"))
    w.wms.down = True
    w.feed(released("O1", [("RM-A", 30)]))
    assert w.wms.calls == 1 and w.wms.effects == {} and w.mes.effects == {}
    w.wms.down = False
    w.clock.advance(5)
    w.hub.drain()
    assert w.wms.names() == ["request_staging"] and w.mes.names() == ["download_order"]
    assert w.instance("O1")["outcome"] == "staged"


def test_refused_staging_and_download_raise_exceptions(deployment: Deployment) -> None:
    w = World(deployment)
    w.feed(received("P0", "RM-A", 100, "R1"))
    w.wms.refuse.add("request_staging")
    w.mes.refuse.add("download_order")
    w.feed(released("O1", [("RM-A", 30)]))
    kinds = sorted(e["kind"] for e in w.hub.exceptions.list())
    assert kinds == ["download-failed", "staging-failed"]
    assert all("refused" in e["message"] and e["plant"] == "1000" for e in w.hub.exceptions.list())
    assert w.instance("O1")["status"] == "running"


def test_requirement_is_converted_to_the_base_unit_or_flagged_when_it_cannot_be(
    deployment: Deployment
) -> None:
    settings = FlowSettings(
        base_units={"RM-A": "EA"}, conversions=(UomConversion(from_uom="BOX", to_uom="EA", factor=12),)
    )  # type: ignore[arg-type]
    w = World(deployment, settings)
    w.feed(received("P0", "RM-A", 100, "R1"), released("O1", [("RM-A", 2)], uom="BOX"))
    assert w.staged() == [("RM-A", "24")] and w.hub.exceptions.list() == []
    w.feed(released("O2", [("RM-A", 2)], uom="PAL"))
    [ex] = w.hub.exceptions.list()
    assert ex["kind"] == "unknown-conversion" and ex["details"]["item"] == "RM-A"


def test_restart_mid_saga_resumes_without_doing_anything_twice(deployment: Deployment) -> None:
    clock, wms, mes = ManualClock(), FakeSink(), FakeSink()

    def start() -> Hub:
        return deployment.hub(
            subscribers=[Inventory(), Atp()],
            flows=[ReleaseFlow(FlowSettings())],
            sinks={"wms": wms, "mes": mes},
            clock=clock,
            durable=True,
        )

    hub = start()
    hub.ingest.submit_sync([received("P0", "RM-A", 100, "R1")])
    hub.drain()
    wms.down = True
    hub.ingest.submit_sync([released("O1", [("RM-A", 30)])])
    hub.drain()
    hub.close()
    wms.down = False
    clock.advance(60)
    again = start()
    again.drain()
    again.close()
    third = start()
    third.ingest.submit_sync([released("O1", [("RM-A", 30)])])  # the ERP resends after the restart
    third.drain()
    assert wms.names() == ["request_staging"] and mes.names() == ["download_order"]
    with third.state.transaction() as tx:
        assert tx.get(instances("release"), "O1")["outcome"] == "staged"
    third.close()
