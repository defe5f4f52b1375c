"""The ATP projection: its pure maths, the figures it builds from events, and identical replay."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from deployments import Deployment

from plantwire.bootstrap import Hub
from plantwire.clocks import ManualClock
from plantwire.domain.quantities import UomConversion
from plantwire.projections import atp
from plantwire.projections.atp import Atp, Bucket, atp_view, blocked, open_quantity, remaining_reservation
from plantwire.projections.inventory import Inventory
from plantwire.simulators.scenario import event, plant_day, qty

D = Decimal
T = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
PLANT = "1000"


def ev(type_: str, id_: str, data: dict[str, Any], source: str = "erp/plant-1000") -> dict[str, Any]:
    with_plant = type_ not in ("procurement.supplier.acknowledged", "procurement.shipment.delayed")
    return event(source, id_, type_, {"plant": PLANT, **data} if with_plant else data, T, PLANT)


def released(order: str, comps: list[tuple[str, int]], loc: str = "RM01", uom: str = "EA") -> dict[str, Any]:
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
                {"line": 10 * (i + 1), "item_id": c, "quantity": qty(n, uom), "storage_location": loc}
                for i, (c, n) in enumerate(comps)
            ],
        },
    )


def consumed(
    order: str, cid: str, item: str, n: int, loc: str = "RM01", lot: str | None = None
) -> dict[str, Any]:
    return ev(
        "production.component.consumed",
        f"CONS-{cid}",
        {
            "order_id": order,
            "consumption_id": cid,
            "item_id": item,
            "quantity": qty(n),
            "storage_location": loc,
            "lot": lot,
            "consumed_at": T.isoformat(),
        },
        "mes/plant-1000",
    )


def completed(order: str, cid: str, n: int, final: bool, lot: str = "L1") -> dict[str, Any]:
    return ev(
        "production.goods.completed",
        f"COMP-{cid}",
        {
            "order_id": order,
            "completion_id": cid,
            "item_id": "FG-1",
            "yield_quantity": qty(n),
            "lot": lot,
            "storage_location": "FG01",
            "completed_at": T.isoformat(),
            "final": final,
        },
        "mes/plant-1000",
    )


def received(
    po: str, item: str, n: int, line: int = 10, rid: str = "R1", lot: str | None = None, uom: str = "EA"
) -> dict[str, Any]:
    return ev(
        "procurement.goods.received",
        f"GR-{rid}",
        {
            "receipt_id": rid,
            "po_number": po,
            "received_at": T.isoformat(),
            "lines": [
                {
                    "line": 1,
                    "po_line": line,
                    "item_id": item,
                    "quantity": qty(n, uom),
                    "storage_location": "RM01",
                    "lot": lot,
                }
            ],
        },
        "wms/plant-1000",
    )


def approved(
    po: str, lines: list[tuple[int, str, int, str]], rev: int = 0, resent: str = ""
) -> dict[str, Any]:
    return ev(
        "procurement.po.approved",
        f"PO-{po}/rev-{rev}{resent}",
        {
            "po_number": po,
            "revision": rev,
            "supplier_id": "SUP-1",
            "currency": "EUR",
            "approved_at": T.isoformat(),
            "lines": [
                {"line": n, "item_id": i, "quantity": qty(q), "delivery_date": d} for n, i, q, d in lines
            ],
        },
    )


def hold(hid: str, item: str, lot: str | None, quantity: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "hold_id": hid,
        "item_id": item,
        "lot": lot,
        "reason_code": "VISUAL",
        "reason": "scratches",
        "placed_at": T.isoformat(),
    }
    if quantity is not None:
        data["quantity"] = qty(quantity)
    return ev("quality.hold.placed", f"QH-{hid}", data, "qms/plant-1000")


def unhold(hid: str) -> dict[str, Any]:
    return ev(
        "quality.hold.released",
        f"QR-{hid}",
        {"hold_id": hid, "disposition": "release", "released_at": T.isoformat()},
        "qms/plant-1000",
    )


def hub(deployment: Deployment, **kw: Any) -> Hub:
    return deployment.hub(subscribers=[Inventory(), Atp(**kw)], clock=ManualClock())


def feed(h: Hub, *events: dict[str, Any]) -> None:
    results = h.ingest.submit_sync(list(events))
    assert all(r.status in ("accepted", "duplicate") for r in results), results
    h.drain()


def rows(
    h: Hub, item: str | None = None, location: str | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    with h.state.transaction() as tx:
        return {(r["location"], r["lot"] or ""): r for r in atp_view(tx, item, location)}


def dump(h: Hub) -> bytes:
    with h.state.transaction() as tx:
        return orjson.dumps({ns: tx.scan(ns) for ns in atp.NAMESPACES}, option=orjson.OPT_SORT_KEYS)


# ---- the maths ----------------------------------------------------------------------------------


def test_remaining_reservation_takes_consumption_from_its_own_location_first() -> None:
    assert remaining_reservation({"A": D(10), "B": D(5)}, {"A": D(3)}) == {"A": D(7), "B": D(5)}
    assert remaining_reservation({"A": D(10), "B": D(5)}, {"A": D(12)}) == {"B": D(3)}
    assert remaining_reservation({"A": D(10)}, {"X": D(4)}) == {"A": D(6)}
    assert remaining_reservation({"A": D(1)}, {"A": D(5)}) == {}


def test_blocked_whole_lot_or_up_to_the_hold_quantity_never_more_than_on_hand() -> None:
    stock = {("FG01", "L1"): D(5), ("WH01", "L1"): D(3), ("FG01", "L2"): D(7)}
    assert blocked(stock, [{"lot": "L1", "location": None, "quantity": None}]) == {
        ("FG01", "L1"): D(5),
        ("WH01", "L1"): D(3),
    }
    assert blocked(stock, [{"lot": "L1", "location": None, "quantity": "6"}]) == {
        ("FG01", "L1"): D(5),
        ("WH01", "L1"): D(1),
    }
    assert blocked(stock, [{"lot": None, "location": "FG01", "quantity": "100"}]) == {
        ("FG01", "L1"): D(5),
        ("FG01", "L2"): D(7),
    }
    two = [{"lot": "L2", "location": None, "quantity": "4"}, {"lot": "L2", "location": None, "quantity": "4"}]
    assert blocked(stock, two) == {("FG01", "L2"): D(7)}


def test_open_quantity_and_atp() -> None:
    assert open_quantity({"ordered": "10", "received": "4", "status": "open"}) == D(6)
    assert open_quantity({"ordered": "10", "received": "12", "status": "open"}) == 0
    assert open_quantity({"ordered": "10", "received": "0", "status": "rejected"}) == 0
    b = Bucket("1000", "X", "RM01", "", "EA", on_hand=D(10), reserved=D(3), blocked=D(2), in_transit=D(50))
    assert b.atp == D(5) and b.as_dict()["atp"] == "5" and b.as_dict()["lot"] is None


# ---- the projection -----------------------------------------------------------------------------


def test_release_reserves_consumption_and_final_completion_release_it(deployment: Deployment) -> None:
    h = hub(deployment)
    feed(h, received("PO1", "RM-A", 100), released("O1", [("RM-A", 30)]))
    assert rows(h, "RM-A")[("RM01", "")] | {} == {
        "plant": PLANT,
        "item": "RM-A",
        "location": "RM01",
        "lot": None,
        "uom": "EA",
        "on_hand": "100",
        "reserved": "30",
        "blocked": "0",
        "in_transit": "0",
        "atp": "70",
    }
    feed(h, consumed("O1", "C1", "RM-A", 12))
    r = rows(h, "RM-A")[("RM01", "")]
    assert (r["on_hand"], r["reserved"], r["atp"]) == ("88", "18", "70")
    feed(h, completed("O1", "K1", 4, final=False))
    assert rows(h, "RM-A")[("RM01", "")]["reserved"] == "18"
    feed(h, completed("O1", "K2", 6, final=True))
    r = rows(h, "RM-A")[("RM01", "")]
    assert (r["on_hand"], r["reserved"], r["atp"]) == ("88", "0", "88")
    assert rows(h, "FG-1")[("FG01", "L1")]["on_hand"] == "10"


def test_consumption_before_release_is_netted_when_the_release_arrives(deployment: Deployment) -> None:
    h = hub(deployment)
    feed(h, received("PO1", "RM-A", 100), consumed("O1", "C1", "RM-A", 10), released("O1", [("RM-A", 30)]))
    r = rows(h, "RM-A")[("RM01", "")]
    assert (r["on_hand"], r["reserved"], r["atp"]) == ("90", "20", "70")


def test_quality_hold_blocks_the_lot_and_its_release_unblocks(deployment: Deployment) -> None:
    h = hub(deployment)
    feed(
        h,
        completed("O1", "K1", 8, final=False, lot="L1"),
        completed("O1", "K2", 5, final=False, lot="L2"),
        hold("H1", "FG-1", "L1"),
    )
    view = rows(h, "FG-1")
    assert (view[("FG01", "L1")]["blocked"], view[("FG01", "L1")]["atp"]) == ("8", "0")
    assert view[("FG01", "L2")]["blocked"] == "0"
    feed(h, unhold("H1"))
    assert rows(h, "FG-1")[("FG01", "L1")]["atp"] == "8"


def test_hold_release_before_placement_leaves_nothing_blocked(deployment: Deployment) -> None:
    h = hub(deployment)
    feed(h, completed("O1", "K1", 8, final=False), unhold("H1"), hold("H1", "FG-1", "L1", quantity=3))
    assert rows(h, "FG-1")[("FG01", "L1")]["blocked"] == "0"


def test_in_transit_follows_approval_revision_ack_delay_and_receipt(deployment: Deployment) -> None:
    h = hub(deployment)
    feed(h, approved("PO1", [(10, "RM-A", 50, "2026-12-01"), (20, "RM-B", 20, "2026-12-02")]))
    assert rows(h, "RM-A")[("", "")]["in_transit"] == "50"
    feed(
        h,
        approved("PO1", [(10, "RM-A", 40, "2026-12-01")], rev=1),
        approved("PO1", [(10, "RM-A", 99, "2026-12-01")], resent="late"),
    )
    assert rows(h, "RM-A")[("", "")]["in_transit"] == "40" and rows(h, "RM-B") == {}
    feed(
        h,
        ev(
            "procurement.supplier.acknowledged",
            "ACK1",
            {
                "po_number": "PO1",
                "revision": 1,
                "supplier_id": "SUP-1",
                "ack_id": "A1",
                "acknowledged_at": T.isoformat(),
                "lines": [{"line": 10, "status": "changed", "quantity": qty(35)}],
            },
            "supplier/SUP-1",
        ),
    )
    feed(
        h,
        ev(
            "procurement.shipment.delayed",
            "DLY1",
            {
                "po_number": "PO1",
                "supplier_id": "SUP-1",
                "original_date": "2026-12-01",
                "new_date": "2026-12-05",
                "reason": "carrier",
            },
            "supplier/SUP-1",
        ),
    )
    with h.state.transaction() as tx:
        assert atp.earliest_cover(tx.scan, PLANT, "RM-A", D(30)) == {
            "po": "PO1",
            "line": 10,
            "supplier": "SUP-1",
            "date": "2026-12-05",
            "open": "35",
            "location": "",
        }
        assert atp.earliest_cover(tx.scan, PLANT, "RM-A", D(36)) is None
    feed(h, received("PO1", "RM-A", 30))
    view = rows(h, "RM-A")
    assert view[("", "")]["in_transit"] == "5" and view[("RM01", "")]["on_hand"] == "30"
    feed(h, received("PO1", "RM-A", 5, rid="R2"))
    assert ("", "") not in rows(h, "RM-A")


def test_rejected_lines_are_not_in_transit_and_cover_prefers_the_earliest_date(
    deployment: Deployment
) -> None:
    h = hub(deployment)
    feed(
        h,
        approved("PO2", [(10, "RM-A", 10, "2026-12-09")]),
        approved("PO1", [(10, "RM-A", 10, "2026-12-01")]),
        approved("PO3", [(10, "RM-A", 10, "2026-12-03")]),
    )
    feed(
        h,
        ev(
            "procurement.supplier.acknowledged",
            "ACK3",
            {
                "po_number": "PO3",
                "revision": 0,
                "supplier_id": "SUP-1",
                "ack_id": "A3",
                "acknowledged_at": T.isoformat(),
                "lines": [{"line": 10, "status": "rejected"}],
            },
            "supplier/SUP-1",
        ),
    )
    assert rows(h, "RM-A")[("", "")]["in_transit"] == "20"
    with h.state.transaction() as tx:
        assert atp.earliest_cover(tx.scan, PLANT, "RM-A", D(5))["po"] == "PO1"  # type: ignore[index]
        assert atp.earliest_cover(tx.scan, PLANT, "RM-A", D(15))["po"] == "PO2"  # type: ignore[index]


def test_availability_excludes_the_orders_own_reservation_and_later_releases(deployment: Deployment) -> None:
    h = hub(deployment)
    feed(
        h,
        received("PO1", "RM-A", 50),
        released("O1", [("RM-A", 30)]),
        released("O2", [("RM-A", 15)]),
        hold("H1", "RM-A", None, quantity=5),
    )
    with h.state.transaction() as tx:
        a = atp.availability(tx.get, tx.scan, PLANT, "RM-A", "RM01", "O1")
        assert (a.unrestricted, a.reserved_by_others, a.own_reservation, a.free) == (
            D(45),
            D(0),
            D(30),
            D(45),
        )
        b = atp.availability(tx.get, tx.scan, PLANT, "RM-A", "RM01", "O2")  # released after O1
        assert (b.reserved_by_others, b.own_reservation, b.free) == (D(30), D(15), D(15))
        other = atp.availability(tx.get, tx.scan, PLANT, "RM-A", None, "O9")  # unknown: behind all open ones
        assert other.own_reservation is None and other.free == D(0)


def test_units_are_converted_to_the_items_unit(deployment: Deployment) -> None:
    conv = [UomConversion(from_uom="KG", to_uom="G", factor=D(1000))]
    h = hub(deployment, base_units={"RM-A": "KG"}, conversions=conv)
    feed(h, received("PO1", "RM-A", 5, uom="KG"), released("O1", [("RM-A", 1500)], uom="G"))
    r = rows(h, "RM-A")[("RM01", "")]
    assert (r["uom"], r["on_hand"], r["reserved"], r["atp"]) == ("KG", "5", "1.5", "3.5")


def test_an_unconvertible_unit_is_refused_not_mixed(deployment: Deployment) -> None:
    h = hub(deployment)
    feed(h, received("PO1", "RM-A", 5), released("O1", [("RM-A", 1500)], uom="G"))
    assert rows(h, "RM-A")[("RM01", "")]["reserved"] == "0"
    [dead] = h.dead_letters.list()
    assert dead["subscriber"] == "atp" and "declare the conversion" in dead["error_message"]


def test_atp_view_filters_by_item_and_location(deployment: Deployment) -> None:
    h = hub(deployment)
    feed(h, *plant_day(PLANT, 3, seed=5))
    with h.state.transaction() as tx:
        everything = atp_view(tx)
        at_wh = atp_view(tx, location="WH01")
    assert at_wh and all(r["location"] == "WH01" for r in at_wh)
    assert {r["item"] for r in everything} > {r["item"] for r in at_wh}
    # a finished day: every order's reservation is gone, stock equals the inventory projection
    assert all(r["reserved"] == "0" for r in everything)


def test_forget_undoes_each_event_exactly(deployment: Deployment) -> None:
    h = hub(deployment)
    before = dump(h)
    feed(h, *plant_day(PLANT, 4, seed=11))
    sub = Atp()
    with h.state.transaction() as tx:
        for seq in range(h.journal.head(), 0, -1):
            entry = h.journal.get_seq(seq)
            assert entry is not None
            sub.forget(entry, tx)
        leftovers = {ns: [(k, v) for k, v in tx.scan(ns) if k and v not in ("0", 0)] for ns in atp.NAMESPACES}
    assert before == b"{" + b",".join(f'"{ns}":[]'.encode() for ns in sorted(atp.NAMESPACES)) + b"}"
    # numeric keys go back to zero; every document is removed
    assert all(not v for ns, v in leftovers.items() if ns != atp.QTY)
    assert leftovers[atp.QTY] == []


@pytest.mark.parametrize("seed", [1, 2])
def test_replay_rebuilds_the_projection_byte_for_byte(deployment: Deployment, seed: int) -> None:
    h = hub(deployment)
    feed(h, *plant_day(PLANT, 25, seed=seed))
    feed(h, hold("HX", "RM-BOLT-M8", None, quantity=3), consumed("1000003", "X-1", "RM-SEAL-KIT", 1))
    live = dump(h)
    report = h.replayer.replay("atp")
    assert report.rebuilt and report.replayed > 0
    assert dump(h) == live
