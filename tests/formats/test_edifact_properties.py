"""Property tests: canonical document -> EDIFACT -> canonical document is the identity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from edifact_roundtrip import body_for, parse_back
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantwire.adapters.edifact.translate import Partner
from plantwire.domain.procurement import PurchaseOrderApproved, SupplierAcknowledged
from plantwire.domain.shipping import InvoiceReceived, ShipmentNotified

PARTNER = Partner()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Identifiers with every EDIFACT service character, so release handling is exercised.
ids = st.text(alphabet="AZaz09-/.:+?'* ", min_size=1, max_size=20).map(str.strip).filter(bool)
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999"), places=3)
zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
times = st.builds(lambda s, z: datetime(2020, 1, 1, tzinfo=UTC).astimezone(z) + timedelta(seconds=s),
                  st.integers(0, 10**8), zones)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
qty = st.builds(lambda v, u: {"value": v, "uom": u}, amounts, st.sampled_from(["EA", "KG", "PCE", "M2"]))


def numbered(line: st.SearchStrategy[dict]) -> st.SearchStrategy[list[dict]]:
    return st.lists(line, min_size=1, max_size=4).map(
        lambda ls: [ln | {"line": 10 * (i + 1)} for i, ln in enumerate(ls)])


po_lines = numbered(st.fixed_dictionaries({"item_id": ids, "quantity": qty, "delivery_date": days},
                                          optional={"unit_price": amounts}))
pos = st.builds(lambda po, rev, plant, sup, cur, lines, at: PurchaseOrderApproved.model_validate(
    {"po_number": po, "revision": rev, "plant": plant, "supplier_id": sup, "currency": cur, "lines": lines,
     "approved_at": at}), ids, st.integers(0, 99), ids, ids, st.sampled_from(["EUR", "USD"]), po_lines, times)
ack_lines = numbered(st.one_of(
    st.fixed_dictionaries({"status": st.sampled_from(["accepted", "rejected"])},
                          optional={"reason": st.text("abc ?'+:", min_size=1, max_size=20).map(str.strip)
                                    .filter(bool)}),
    st.fixed_dictionaries({"status": st.just("changed"), "quantity": qty}, optional={"delivery_date": days})))
acks = st.builds(lambda po, rev, sup, ack, at, lines: SupplierAcknowledged.model_validate(
    {"po_number": po, "revision": rev, "supplier_id": sup, "ack_id": ack, "acknowledged_at": at,
     "lines": lines}), ids, st.integers(0, 9), ids, ids, times, ack_lines)
asn_lines = numbered(st.fixed_dictionaries(
    {"po_number": ids, "item_id": ids, "quantity": qty},
    optional={"po_line": st.integers(1, 999), "supplier_item_id": ids, "lot": ids, "package_id": ids}))
asns = st.builds(lambda asn, sup, at, lines, extra: ShipmentNotified.model_validate(
    {"asn_id": asn, "supplier_id": sup, "shipped_at": at, "lines": lines} | extra),
    ids, ids, times, asn_lines,
    st.fixed_dictionaries({}, optional={"plant": ids, "carrier": ids, "tracking_id": ids,
                                        "expected_at": times}))
inv_lines = numbered(st.fixed_dictionaries(
    {"quantity": qty, "unit_price": amounts},
    optional={"po_number": ids, "item_id": ids, "amount": amounts}))
invoices = st.builds(lambda inv, sup, d, cur, total, lines, po: InvoiceReceived.model_validate(
    {"invoice_id": inv, "supplier_id": sup, "invoice_date": d, "currency": cur, "total": total,
     "lines": lines} | po), ids, ids, days, st.sampled_from(["EUR", "SEK"]), amounts, inv_lines,
    st.fixed_dictionaries({}, optional={"po_number": ids}))
AT = datetime(2026, 1, 1, tzinfo=UTC)


@FAST
@given(pos)
def test_orders_round_trip(po: PurchaseOrderApproved) -> None:
    assert parse_back("procurement.po.approved", body_for("procurement.po.approved", po, AT), PARTNER) == po


@FAST
@given(acks)
def test_ordrsp_round_trip(ack: SupplierAcknowledged) -> None:
    kind = "procurement.supplier.acknowledged"
    assert parse_back(kind, body_for(kind, ack, AT), PARTNER) == ack


@FAST
@given(asns)
def test_desadv_round_trip(asn: ShipmentNotified) -> None:
    kind = "procurement.shipment.notified"
    assert parse_back(kind, body_for(kind, asn, AT), PARTNER) == asn


@FAST
@given(invoices)
def test_invoic_round_trip(inv: InvoiceReceived) -> None:
    kind = "finance.invoice.received"
    assert parse_back(kind, body_for(kind, inv, AT), PARTNER) == inv
