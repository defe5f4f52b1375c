"""Property tests: canonical document -> X12 -> canonical document is the identity, for every mapping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_x12_support import PARTNER, events_of, round_trip_997

from plantwire.adapters.x12.ack import GroupAck, SetAck
from plantwire.adapters.x12.sink import emit_810, emit_850, emit_855, emit_856
from plantwire.domain.catalog import CATALOG
from plantwire.domain.commands import SendPurchaseOrder
from plantwire.domain.procurement import PurchaseOrderApproved, SupplierAcknowledged
from plantwire.domain.shipping import InvoiceReceived, ShipmentNotified
from plantwire.service.validation import validate_event

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-./#"


def ident(low: int = 2, high: int = 20) -> st.SearchStrategy[str]:
    return st.text(SAFE + " ", min_size=low, max_size=high).map(str.strip).filter(lambda s: len(s) >= low)


units = st.sampled_from(["EA", "CA", "KG", "LB", "YD", "PC", "BX"])
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999999"), places=3)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999"), places=2)
days = st.dates(date(2001, 1, 1), date(2099, 12, 31))
moments = st.builds(lambda d, s, h: datetime.combine(d, datetime.min.time(), timezone(timedelta(hours=h)))
                    + timedelta(seconds=s), days, st.integers(0, 86_399), st.integers(-11, 12))
po_lines = st.none() | st.integers(1, 9999)
numbers = st.lists(st.integers(1, 999_999), min_size=1, max_size=6, unique=True)


def qty(value: Decimal, uom: str) -> dict[str, str]:
    return {"value": str(value), "uom": uom}


def back(data: bytes) -> dict:
    (event,) = events_of(data)
    validate_event(event, CATALOG)
    return event["data"]


@st.composite
def purchase_orders(draw: st.DrawFn) -> SendPurchaseOrder:
    return SendPurchaseOrder.model_validate({
        "po_number": draw(ident()), "revision": draw(st.integers(0, 999_999)), "plant": draw(ident()),
        "supplier_id": draw(ident()), "currency": draw(st.sampled_from(["USD", "EUR", "CAD"])),
        "lines": [{"line": n, "item_id": draw(ident(1, 40)), "quantity": qty(draw(amounts), draw(units)),
                   "delivery_date": draw(days), "unit_price": draw(st.none() | prices)}
                  for n in draw(numbers)]})


@given(purchase_orders(), moments)
@SETTINGS
def test_850_round_trip(cmd: SendPurchaseOrder, at: datetime) -> None:
    got = PurchaseOrderApproved.model_validate(back(emit_850(cmd, PARTNER, "key", at)))
    assert got.approved_at == at
    assert got.model_dump(exclude={"approved_at"}) == {**cmd.model_dump(), "lines": [
        {**ln.model_dump(), "storage_location": None} for ln in cmd.lines]}


@st.composite
def acknowledgments(draw: st.DrawFn) -> SupplierAcknowledged:
    lines = []
    for n in draw(numbers):
        status = draw(st.sampled_from(["accepted", "changed", "rejected"]))
        line = {"line": n, "status": status, "reason": draw(st.none() | ident(1, 30))}
        if status == "changed" or draw(st.booleans()):
            line["quantity"] = qty(draw(amounts), draw(units))
            line["delivery_date"] = draw(st.none() | days)
        lines.append(line)
    return SupplierAcknowledged.model_validate({
        "po_number": draw(ident()), "revision": draw(st.integers(0, 999_999)), "supplier_id": draw(ident()),
        "ack_id": draw(ident()), "acknowledged_at": draw(moments), "lines": lines})


@given(acknowledgments())
@SETTINGS
def test_855_round_trip(ack: SupplierAcknowledged) -> None:
    assert SupplierAcknowledged.model_validate(back(emit_855(ack, PARTNER, "key"))) == ack


@st.composite
def shipments(draw: st.DrawFn) -> ShipmentNotified:
    pos, packs = draw(st.lists(ident(), min_size=1, max_size=3)), [None, *draw(st.lists(ident(), max_size=2))]
    return ShipmentNotified.model_validate({
        "asn_id": draw(ident()), "supplier_id": draw(ident()), "plant": draw(st.none() | ident()),
        "shipped_at": draw(moments), "expected_at": draw(st.none() | moments),
        "carrier": draw(st.none() | ident()), "tracking_id": draw(st.none() | ident()),
        "lines": [{"line": n, "po_number": draw(st.sampled_from(pos)), "po_line": draw(po_lines),
                   "item_id": draw(ident(1, 40)), "supplier_item_id": draw(st.none() | ident(1, 40)),
                   "quantity": qty(draw(amounts), draw(units)), "lot": draw(st.none() | ident()),
                   "package_id": draw(st.sampled_from(packs))} for n in draw(numbers)]})


@given(shipments())
@SETTINGS
def test_856_round_trip(asn: ShipmentNotified) -> None:
    assert ShipmentNotified.model_validate(back(emit_856(asn, PARTNER, "key"))) == asn


@st.composite
def invoices(draw: st.DrawFn) -> InvoiceReceived:
    return InvoiceReceived.model_validate({
        "invoice_id": draw(ident()), "supplier_id": draw(ident()), "invoice_date": draw(days),
        "currency": "USD", "total": draw(prices), "po_number": draw(st.none() | ident()),
        "lines": [{"line": n, "po_number": draw(st.none() | ident()), "po_line": draw(po_lines),
                   "item_id": draw(st.none() | ident(1, 40)), "quantity": qty(draw(amounts), draw(units)),
                   "unit_price": draw(prices)} for n in draw(numbers)]})


@given(invoices())
@SETTINGS
def test_810_round_trip(inv: InvoiceReceived) -> None:
    assert InvoiceReceived.model_validate(back(emit_810(inv, PARTNER, "key"))) == inv


codes = st.sampled_from(["1", "2", "3", "4", "5", "8"])
set_acks = st.builds(
    lambda status, n, errors: SetAck("850", f"{n:04d}", status, ("5",) if status == "R" else (), errors),
    st.sampled_from(["A", "R"]), st.integers(1, 9999),
    st.lists(st.tuples(st.sampled_from(["PO1", "DTM", "N1"]), st.integers(2, 99), codes,
                       st.lists(st.tuples(st.integers(1, 20), codes, ident(0, 10)), max_size=3).map(tuple)),
             max_size=3).map(tuple))


@given(st.lists(set_acks, min_size=1, max_size=4), st.sampled_from(["004010", "005010"]))
@SETTINGS
def test_997_round_trip(sets: list[SetAck], version: str) -> None:
    accepted = sum(s.status == "A" for s in sets)
    status = "A" if accepted == len(sets) else ("R" if accepted == 0 else "P")
    ack = GroupAck("PO", "17", status, len(sets), len(sets), accepted, (), tuple(sets))
    assert round_trip_997(ack, version) == ack


def test_po_time_in_any_zone_comes_back_as_the_same_instant() -> None:
    at = datetime(2030, 1, 2, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    line = {"line": 10, "item_id": "RM-1", "quantity": qty(Decimal(5), "EA"), "delivery_date": "2030-01-09"}
    cmd = SendPurchaseOrder.model_validate({"po_number": "PO1", "revision": 2, "plant": "P1000",
                                            "supplier_id": "SUP-100", "currency": "EUR", "lines": [line]})
    got = back(emit_850(cmd, PARTNER, "k", at))
    assert datetime.fromisoformat(got["approved_at"]) == at.astimezone(UTC)
