"""The event contracts: realistic examples validate, round-trip through JSON, and fail precisely."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from plantwire.domain.catalog import CATALOG, Catalog, Contract
from plantwire.domain.procurement import AckStatus, PurchaseOrderApproved
from plantwire.domain.production import ProductionGoodsCompleted

EXAMPLES: dict[str, dict[str, Any]] = {
    "production.order.released": {
        "order_id": "1000457",
        "plant": "1010",
        "item_id": "FG-PUMP-200",
        "quantity": {"value": "250", "uom": "EA"},
        "scheduled_start": "2025-03-03T06:00:00+01:00",
        "scheduled_end": "2025-03-04T14:00:00+01:00",
        "due_date": "2025-03-05",
        "work_center": "ASSY-02",
        "components": [
            {"line": 10, "item_id": "RM-HOUSING", "quantity": {"value": 250, "uom": "EA"},
             "storage_location": "0001"},
            {"line": 20, "item_id": "RM-STEEL-SHEET", "quantity": {"value": "312.5", "uom": "KG"},
             "operation": "0010"},
        ],
    },
    "production.component.consumed": {
        "order_id": "1000457",
        "plant": "1010",
        "consumption_id": "MES-CONS-88121",
        "item_id": "RM-STEEL-SHEET",
        "quantity": {"value": "12.125", "uom": "KG"},
        "lot": "L2025-0211-A",
        "storage_location": "0001",
        "consumed_at": "2025-03-03T07:15:22Z",
        "operation": "0010",
    },
    "production.goods.completed": {
        "order_id": "1000457",
        "plant": "1010",
        "completion_id": "MES-CONF-5531",
        "item_id": "FG-PUMP-200",
        "yield_quantity": {"value": "48", "uom": "EA"},
        "scrap_quantity": {"value": "2", "uom": "EA"},
        "lot": "FG-250303-01",
        "storage_location": "FG01",
        "completed_at": "2025-03-03T11:59:00+01:00",
        "final": False,
    },
    "inventory.transferred": {
        "transfer_id": "WMS-TR-000981",
        "plant": "1010",
        "item_id": "RM-HOUSING",
        "quantity": {"value": "40", "uom": "EA"},
        "lot": "L-7781",
        "from_location": "0001",
        "to_location": "PSA-ASSY-02",
        "transferred_at": "2025-03-03T05:40:00Z",
        "reason": "REPLENISH",
    },
    "procurement.po.approved": {
        "po_number": "4500012345",
        "revision": 0,
        "plant": "1010",
        "supplier_id": "V-30017",
        "currency": "EUR",
        "lines": [
            {"line": 10, "item_id": "RM-HOUSING", "quantity": {"value": "500", "uom": "EA"},
             "unit_price": "18.40", "delivery_date": "2025-03-20"},
            {"line": 20, "item_id": "RM-STEEL-SHEET", "quantity": {"value": "2000", "uom": "KG"},
             "delivery_date": "2025-03-18", "storage_location": "0001"},
        ],
        "approved_at": "2025-03-01T09:12:00+01:00",
    },
    "procurement.supplier.acknowledged": {
        "po_number": "4500012345",
        "revision": 0,
        "supplier_id": "V-30017",
        "ack_id": "ORDRSP-77120",
        "acknowledged_at": "2025-03-01T16:02:00Z",
        "lines": [
            {"line": 10, "status": "accepted"},
            {"line": 20, "status": "changed", "quantity": {"value": "1800", "uom": "KG"},
             "delivery_date": "2025-03-21", "reason": "mill allocation"},
        ],
    },
    "procurement.shipment.delayed": {
        "po_number": "4500012345",
        "supplier_id": "V-30017",
        "asn_id": "DESADV-1191",
        "lines": [20],
        "original_date": "2025-03-21",
        "new_date": "2025-03-25",
        "reason_code": "CARRIER",
        "reason": "Carrier capacity shortage",
    },
    "procurement.goods.received": {
        "receipt_id": "GR-5000123",
        "po_number": "4500012345",
        "plant": "1010",
        "supplier_id": "V-30017",
        "asn_id": "DESADV-1191",
        "lines": [
            {"line": 1, "po_line": 10, "item_id": "RM-HOUSING",
             "quantity": {"value": "500", "uom": "EA"}, "lot": "L-9001",
             "storage_location": "0001"},
        ],
        "received_at": "2025-03-20T08:30:00+01:00",
    },
    "quality.hold.placed": {
        "hold_id": "QH-2025-0042",
        "plant": "1010",
        "item_id": "RM-HOUSING",
        "lot": "L-9001",
        "quantity": {"value": "500", "uom": "EA"},
        "storage_location": "QI01",
        "reason_code": "QC-DIM",
        "reason": "Bore diameter out of tolerance on sample",
        "placed_at": "2025-03-20T10:05:00+01:00",
    },
    "quality.hold.released": {
        "hold_id": "QH-2025-0042",
        "plant": "1010",
        "released_at": "2025-03-21T15:00:00+01:00",
        "disposition": "return_to_supplier",
        "quantity": {"value": "500", "uom": "EA"},
        "note": "RMA 8812 issued",
    },
    "procurement.shipment.notified": {
        "asn_id": "ASN-778812",
        "supplier_id": "SUP-100",
        "plant": "1000",
        "shipped_at": "2026-11-26T15:30:00+01:00",
        "expected_at": "2026-11-27T09:00:00+01:00",
        "carrier": "DHL",
        "tracking_id": "JD0146000012345678",
        "lines": [
            {"line": 1, "po_number": "4500012345", "po_line": 10, "item_id": "RM-HOUSING",
             "supplier_item_id": "HSG-77", "quantity": {"value": "120", "uom": "EA"},
             "lot": "S-4411", "package_id": "SSCC-003871234500000017"},
        ],
    },
    "finance.invoice.received": {
        "invoice_id": "INV-2026-0917",
        "supplier_id": "SUP-100",
        "invoice_date": "2026-11-27",
        "currency": "EUR",
        "total": "1488.00",
        "po_number": "4500012345",
        "lines": [
            {"line": 1, "po_number": "4500012345", "po_line": 10, "item_id": "RM-HOUSING",
             "quantity": {"value": "120", "uom": "EA"}, "unit_price": "12.40", "amount": "1488.00"},
        ],
    },
    "edge.alarm.raised": {
        "agent": "edge-plant-1000", "kind": "backlog-age", "backlog": 51234,
        "oldest_age_seconds": "912.5", "detail": "the oldest waiting event is 912 s old (alarm at 900 s)",
        "at": "2026-11-27T09:15:00+01:00",
    },
    "edge.alarm.cleared": {
        "agent": "edge-plant-1000", "kind": "backlog-age", "backlog": 120,
        "detail": "backlog drained", "at": "2026-11-27T09:40:00+01:00",
    },
}

KEYS = {
    "production.order.released": "1000457",
    "production.component.consumed": "1000457",
    "production.goods.completed": "1000457",
    "inventory.transferred": "RM-HOUSING",
    "procurement.po.approved": "4500012345",
    "procurement.supplier.acknowledged": "4500012345",
    "procurement.shipment.delayed": "4500012345",
    "procurement.goods.received": "4500012345",
    "quality.hold.placed": "QH-2025-0042",
    "quality.hold.released": "QH-2025-0042",
    "procurement.shipment.notified": "ASN-778812",
    "finance.invoice.received": "INV-2026-0917",
    "edge.alarm.raised": "edge-plant-1000",
    "edge.alarm.cleared": "edge-plant-1000",
}


def contract(type_: str) -> Contract:
    found = CATALOG.get(type_, "1")
    assert found is not None
    return found


def example(type_: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLES[type_])
    data.update(changes)
    return data


def errors_of(type_: str, data: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as caught:
        contract(type_).model.model_validate(data)
    return [error["loc"] for error in caught.value.errors()]


def test_catalog_holds_every_contract_at_version_1() -> None:
    assert CATALOG.types() == sorted(EXAMPLES)
    assert all(CATALOG.versions(t) == ["1"] for t in EXAMPLES)
    assert [c.type for c in CATALOG] == sorted(EXAMPLES)


@pytest.mark.parametrize("type_", sorted(EXAMPLES))
def test_example_round_trips_through_json(type_: str) -> None:
    model = contract(type_).model
    data = model.model_validate(EXAMPLES[type_])
    assert model.model_validate(data.model_dump(mode="json")) == data
    assert model.model_validate_json(data.model_dump_json()) == data


@pytest.mark.parametrize("type_", sorted(EXAMPLES))
def test_partition_key_is_the_business_key(type_: str) -> None:
    found = contract(type_)
    assert found.partition_key(found.model.model_validate(EXAMPLES[type_])) == KEYS[type_]


@pytest.mark.parametrize("type_", sorted(EXAMPLES))
def test_unknown_field_is_refused_where_it_was_sent(type_: str) -> None:
    assert errors_of(type_, example(type_, palnt="1010")) == [("palnt",)]


@pytest.mark.parametrize("type_", sorted(EXAMPLES))
def test_json_schema_names_type_and_version(type_: str) -> None:
    schema = contract(type_).json_schema()
    assert schema["$id"] == f"urn:plantwire:contract:{type_}:v1"
    assert schema["title"] == f"{type_} v1"
    assert schema["additionalProperties"] is False
    assert schema["type"] == "object"


def test_export_is_keyed_by_file_name() -> None:
    exported = CATALOG.export()
    assert sorted(exported) == sorted(f"{t}.v1.json" for t in EXAMPLES)
    assert exported["production.order.released.v1.json"]["title"] == "production.order.released v1"


def test_catalog_lookups_of_unknown_things_are_empty() -> None:
    assert CATALOG.get("production.order.released", "2") is None
    assert CATALOG.get("nope", "1") is None
    assert CATALOG.versions("nope") == []


def test_catalog_orders_versions_numerically_and_refuses_duplicates() -> None:
    base = contract("quality.hold.released")
    versions = [Contract(base.type, v, base.model, base.key_field, base.summary)
                for v in ("10", "2", "1")]
    catalog = Catalog(versions)
    assert catalog.versions(base.type) == ["1", "2", "10"]
    assert [c.version for c in catalog] == ["1", "2", "10"]
    assert list(catalog.export()) == [f"{base.type}.v{v}.json" for v in ("1", "2", "10")]
    with pytest.raises(ValueError, match="twice"):
        Catalog([base, base])


def test_contract_refuses_a_key_field_its_model_lacks() -> None:
    with pytest.raises(ValueError, match="no field"):
        Contract("x.y", "1", PurchaseOrderApproved, "order_id", "bad key")


def test_naive_business_time_is_refused() -> None:
    data = example("production.component.consumed", consumed_at="2025-03-03T07:15:22")
    assert errors_of("production.component.consumed", data) == [("consumed_at",)]


def test_consumed_quantity_must_be_positive() -> None:
    data = example("production.component.consumed", quantity={"value": "0", "uom": "KG"})
    assert errors_of("production.component.consumed", data) == [("quantity", "value")]


def test_negative_scrap_is_refused() -> None:
    data = example("production.goods.completed", scrap_quantity={"value": "-1", "uom": "EA"})
    assert errors_of("production.goods.completed", data) == [("scrap_quantity", "value")]


def test_scrap_defaults_to_zero_in_the_yield_unit() -> None:
    data = example("production.goods.completed", yield_quantity={"value": "5", "uom": "KG"})
    del data["scrap_quantity"]
    completed = ProductionGoodsCompleted.model_validate(data)
    assert completed.scrap_quantity.value == 0
    assert completed.scrap_quantity.uom == "KG"


def test_empty_completion_is_allowed_only_when_final() -> None:
    zero = {"value": "0", "uom": "EA"}
    data = example("production.goods.completed", yield_quantity=zero, scrap_quantity=zero)
    assert errors_of("production.goods.completed", data) == [()]
    assert ProductionGoodsCompleted.model_validate({**data, "final": True}).final


def test_release_with_end_before_start_is_refused() -> None:
    data = example("production.order.released", scheduled_end="2025-03-02T00:00:00Z")
    assert errors_of("production.order.released", data) == [()]


def test_release_component_lines_are_unique() -> None:
    data = example("production.order.released")
    data["components"][1]["line"] = 10
    assert errors_of("production.order.released", data) == [("components",)]


def test_transfer_to_the_same_location_is_refused() -> None:
    data = example("inventory.transferred", to_location="0001")
    assert errors_of("inventory.transferred", data) == [()]


def test_po_needs_a_line() -> None:
    assert errors_of("procurement.po.approved", example("procurement.po.approved", lines=[])) == [
        ("lines",)
    ]


def test_po_line_numbers_are_unique() -> None:
    data = example("procurement.po.approved")
    data["lines"][1]["line"] = 10
    with pytest.raises(ValidationError, match=r"repeated: \[10\]") as caught:
        PurchaseOrderApproved.model_validate(data)
    assert [e["loc"] for e in caught.value.errors()] == [("lines",)]


def test_po_refuses_bad_currency_negative_revision_and_float_price() -> None:
    data = example("procurement.po.approved", currency="eur", revision=-1)
    data["lines"][0]["unit_price"] = "abc"
    assert errors_of("procurement.po.approved", data) == [
        ("revision",), ("currency",), ("lines", 0, "unit_price"),
    ]


def test_changed_ack_line_must_say_what_changed() -> None:
    data = example("procurement.supplier.acknowledged")
    data["lines"][1] = {"line": 20, "status": "changed", "reason": "no idea"}
    assert errors_of("procurement.supplier.acknowledged", data) == [("lines", 1)]


def test_ack_status_is_an_enum() -> None:
    data = example("procurement.supplier.acknowledged")
    data["lines"][0]["status"] = "maybe"
    assert errors_of("procurement.supplier.acknowledged", data) == [("lines", 0, "status")]
    parsed = contract("procurement.supplier.acknowledged").model.model_validate(EXAMPLES[
        "procurement.supplier.acknowledged"])
    assert parsed.model_dump()["lines"][1]["status"] is AckStatus.CHANGED


@pytest.mark.parametrize("new_date", ["2025-03-21", "2025-03-01"])
def test_delay_must_move_the_date_later(new_date: str) -> None:
    data = example("procurement.shipment.delayed", new_date=new_date)
    assert errors_of("procurement.shipment.delayed", data) == [()]


def test_delay_of_whole_po_has_no_lines_and_lines_do_not_repeat() -> None:
    data = example("procurement.shipment.delayed", lines=None)
    assert contract("procurement.shipment.delayed").model.model_validate(data)
    repeated = example("procurement.shipment.delayed", lines=[10, 10])
    assert errors_of("procurement.shipment.delayed", repeated) == [("lines",)]


def test_receipt_line_errors_point_at_the_line() -> None:
    data = example("procurement.goods.received")
    data["lines"][0]["quantity"] = {"value": "-3", "uom": "EA"}
    data["lines"][0]["storage_location"] = " 0001"
    assert errors_of("procurement.goods.received", data) == [
        ("lines", 0, "quantity", "value"), ("lines", 0, "storage_location"),
    ]


def test_hold_release_disposition_is_an_enum() -> None:
    data = example("quality.hold.released", disposition="burn")
    assert errors_of("quality.hold.released", data) == [("disposition",)]


def test_contract_data_is_immutable() -> None:
    data: BaseModel = contract("quality.hold.placed").model.model_validate(
        EXAMPLES["quality.hold.placed"]
    )
    with pytest.raises(ValidationError):
        data.hold_id = "other"  # type: ignore[attr-defined]


def test_quantities_are_sent_as_exact_strings() -> None:
    data = contract("procurement.po.approved").model.model_validate(
        EXAMPLES["procurement.po.approved"]
    )
    dumped = data.model_dump(mode="json")
    assert dumped["lines"][0]["unit_price"] == "18.40"
    assert dumped["lines"][1]["quantity"] == {"value": "2000", "uom": "KG"}
    assert data.model_dump()["lines"][0]["unit_price"] == Decimal("18.40")
