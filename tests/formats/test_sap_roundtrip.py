"""Property tests: canonical document -> SAP IDoc / OData -> canonical document gives it back."""

from __future__ import annotations

import json

from erp_packs import DAY, SAP, T
from erp_strategies import ids, moments, movement, plants, production_order, purchase_order, qty, short_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantwire.adapters.sap.common import reference
from plantwire.adapters.sap.idoc import translate as it
from plantwire.adapters.sap.odata import translate as ot
from plantwire.domain.catalog import CATALOG
from plantwire.domain.commands import PostGoodsMovement, SendPurchaseOrder
from plantwire.domain.procurement import SupplierAcknowledged
from plantwire.domain.production import ProductionGoodsCompleted, ProductionOrderReleased
from plantwire.domain.shipping import ShipmentNotified
from plantwire.service.validation import validate_event

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALL_MOVES = [
    "goods_issue_to_order",
    "goods_receipt_from_order",
    "goods_receipt_for_po",
    "transfer",
    "block",
    "unblock",
]


@FAST
@given(production_order(st.none() | ids))
def test_loipro_round_trip(data: dict) -> None:
    order = ProductionOrderReleased.model_validate(data)
    doc = it.emit_loipro(order, "key", SAP, T)
    assert it.parse_loipro(doc, SAP)[0] == order
    for event in it.loipro_events(doc, SAP):
        validate_event(event, CATALOG)


@FAST
@given(purchase_order())
def test_orders05_round_trip(data: dict) -> None:
    po = SendPurchaseOrder.model_validate(data)
    assert it.parse_orders(it.emit_orders(po, "key", SAP, T), SAP) == po


ack_line = st.one_of(
    st.fixed_dictionaries({"status": st.just("accepted")}),
    st.fixed_dictionaries({"status": st.just("rejected"), "reason": st.none() | short_text}),
    st.fixed_dictionaries({"status": st.just("changed"), "quantity": qty(), "delivery_date": st.dates()}),
)


@FAST
@given(ids, st.integers(0, 99), ids, ids, moments, st.lists(ack_line, min_size=1, max_size=4))
def test_ordrsp_round_trip(po: str, rev: int, sup: str, ack_id: str, at, lines: list) -> None:
    ack = SupplierAcknowledged.model_validate(
        {
            "po_number": po,
            "revision": rev,
            "supplier_id": sup,
            "ack_id": ack_id,
            "acknowledged_at": at,
            "lines": [{**ln, "line": 10 * (i + 1)} for i, ln in enumerate(lines)],
        }
    )
    doc = it.emit_ordrsp(ack, "key", SAP)
    assert it.parse_ordrsp(doc, SAP)[0] == ack
    validate_event(it.ordrsp_events(doc, SAP)[0], CATALOG)


asn_line = st.fixed_dictionaries(
    {
        "po_number": ids,
        "po_line": st.none() | st.integers(1, 99999),
        "item_id": ids,
        "supplier_item_id": st.none() | ids,
        "quantity": qty(),
        "lot": st.none() | st.from_regex(r"\A[A-Z0-9]{1,10}\Z"),
        "package_id": st.none() | st.from_regex(r"\A[0-9]{18,20}\Z"),
    }
)


@FAST
@given(
    ids,
    ids,
    st.none() | plants,
    moments,
    st.none() | moments,
    st.none() | ids,
    st.none() | ids,
    st.lists(asn_line, min_size=1, max_size=4),
)
def test_desadv_round_trip(asn_id, sup, plant, shipped, expected, carrier, tracking, lines) -> None:
    asn = ShipmentNotified.model_validate(
        {
            "asn_id": asn_id,
            "supplier_id": sup,
            "plant": plant,
            "shipped_at": shipped,
            "expected_at": expected,
            "carrier": carrier,
            "tracking_id": tracking,
            "lines": [{**ln, "line": i + 1} for i, ln in enumerate(lines)],
        }
    )
    doc = it.emit_desadv(asn, "key", SAP)
    assert it.parse_desadv(doc, SAP) == asn
    validate_event(it.desadv_events(doc, SAP)[0], CATALOG)


@FAST
@given(movement(ALL_MOVES, st.none() | short_text), st.text(min_size=1, max_size=80))
def test_mbgmcr_round_trip(data: dict, key: str) -> None:
    cmd = PostGoodsMovement.model_validate(data)
    parsed, ref = it.parse_mbgmcr(it.emit_mbgmcr(cmd, key, SAP, T), SAP)
    assert parsed == cmd
    assert ref == reference(key, 35) and len(ref) <= 35


@FAST
@given(movement(ALL_MOVES, st.none() | short_text), st.sampled_from(["v2", "v4"]))
def test_material_document_round_trip(data: dict, version) -> None:
    cmd = PostGoodsMovement.model_validate(data)
    body = json.loads(json.dumps(ot.emit_material_document(cmd, "key", SAP, DAY, version)))
    assert ot.parse_material_document(body, SAP) == [cmd]
    posted = {**ot.entity(body).obj, "MaterialDocument": "4900000001", "MaterialDocumentYear": "2026"}
    for event in ot.material_document_events(posted, SAP):
        validate_event(event, CATALOG)


@FAST
@given(
    ids,
    plants,
    ids,
    ids,
    qty(),
    st.sampled_from(["0", "1", "2.5"]),
    st.none() | ids,
    ids,
    moments,
    st.booleans(),
    st.sampled_from(["v2", "v4"]),
)
def test_confirmation_round_trip(
    order, plant, cid, item, yielded, scrap, lot, loc, at, final, version
) -> None:
    done = ProductionGoodsCompleted.model_validate(
        {
            "order_id": order,
            "plant": plant,
            "completion_id": cid,
            "item_id": item,
            "yield_quantity": yielded,
            "scrap_quantity": {"value": scrap, "uom": yielded["uom"]},
            "lot": lot,
            "storage_location": loc,
            "completed_at": at,
            "final": final,
        }
    )
    body = json.loads(json.dumps(ot.emit_confirmation(done, SAP, version)))
    assert ot.parse_confirmation(body, SAP) == done
    validate_event(ot.confirmation_events(body, SAP)[0], CATALOG)


@FAST
@given(production_order(st.none() | ids), st.sampled_from(["v2", "v4"]))
def test_production_order_round_trip(data: dict, version) -> None:
    order = ProductionOrderReleased.model_validate(data)
    body = json.loads(json.dumps(ot.emit_production_order(order, SAP, version)))
    assert ot.parse_production_order(body, SAP) == order
    collection = {"d": {"results": [body["d"]]}} if version == "v2" else {"value": [body]}
    for event in ot.production_order_events(collection, SAP):
        validate_event(event, CATALOG)
