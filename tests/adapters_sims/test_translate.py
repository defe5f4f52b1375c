"""Pure translation tests on payloads recorded from the running simulators (see record.py)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from plantwire.adapters.sim_erp import translate as erp
from plantwire.adapters.sim_erp.mapping import ErpMapping
from plantwire.adapters.sim_mes import translate as mes
from plantwire.adapters.sim_mes.mapping import MesMapping
from plantwire.adapters.sim_supplier import translate as sup
from plantwire.adapters.sim_supplier.mapping import SupplierMapping
from plantwire.adapters.sim_wms import translate as wms
from plantwire.adapters.sim_wms.mapping import WmsMapping
from plantwire.adapters.simfeed import UnknownCrossReference, plain
from plantwire.domain.catalog import CATALOG
from plantwire.domain.commands import (
    DownloadProductionOrder,
    Movement,
    PostGoodsMovement,
    RequestStaging,
    SendPurchaseOrder,
)
from plantwire.errors import InvalidEvent, PermanentError
from plantwire.service.validation import validate_event

RECORDED = Path(__file__).parent / "recorded"
EM, MM, WM, SM = ErpMapping(), MesMapping(), WmsMapping(), SupplierMapping()


def recorded(system: str) -> list[dict[str, Any]]:
    return list(json.loads((RECORDED / f"{system}.json").read_text()))


def translated(system: str) -> list[dict[str, Any]]:
    fn = {
        "erp": lambda e: erp.translate_event(e, EM),
        "mes": lambda e: mes.translate_event(e, MM),
        "wms": lambda e: wms.translate_event(e, WM),
        "supplier": lambda e: sup.translate_event(e, SM),
    }[system]
    return [ce for event in recorded(system) for ce in fn(event)]


@pytest.mark.parametrize("system", ["erp", "mes", "wms", "supplier"])
def test_every_translated_event_passes_its_contract(system: str) -> None:
    events = translated(system)
    assert events
    for ce in events:
        validate_event(ce, CATALOG)  # raises InvalidEvent on any contract issue


@pytest.mark.parametrize("system", ["erp", "mes", "wms", "supplier"])
def test_translation_is_deterministic(system: str) -> None:
    assert translated(system) == translated(system)


def test_erp_systems_of_record_only_orders_and_pos() -> None:
    assert [(ce["type"], ce["id"], ce["source"]) for ce in translated("erp")] == [
        ("procurement.po.approved", "PO-4500000001/rev-0", "erp/plant-1000"),
        ("production.order.released", "ORD-000001000001/released", "erp/plant-1000"),
    ]


def test_erp_order_released_maps_components_units_and_plant_dates() -> None:
    order = next(ce for ce in translated("erp") if ce["type"] == "production.order.released")["data"]
    assert order["item_id"] == "FG-PUMP-100" and order["quantity"] == {"value": "20", "uom": "EA"}
    assert order["scheduled_start"] == "2026-11-27T00:00:00+01:00"
    assert order["scheduled_end"] == "2026-11-29T00:00:00+01:00" and order["due_date"] == "2026-11-28"
    assert [(c["line"], c["item_id"], c["quantity"], c["storage_location"]) for c in order["components"]] == [
        (10, "RM-HOUSING-A", {"value": "20", "uom": "EA"}, "RM01"),
        (20, "RM-IMPELLER-7", {"value": "20", "uom": "EA"}, "RM01"),
        (30, "RM-BOLT-M8", {"value": "160", "uom": "EA"}, "RM01"),
    ]


def test_erp_po_approved_maps_supplier_units_and_prices() -> None:
    po = next(ce for ce in translated("erp") if ce["type"] == "procurement.po.approved")["data"]
    assert po["supplier_id"] == "SUP-200" and po["revision"] == 0 and po["currency"] == "EUR"
    assert [(ln["item_id"], ln["quantity"], ln["unit_price"]) for ln in po["lines"]] == [
        ("RM-HOUSING-A", {"value": "100", "uom": "EA"}, "12.5"),
        ("RM-PA6-RESIN", {"value": "50.5", "uom": "KG"}, "3.1"),
    ]


def test_mes_consumption_and_completion() -> None:
    events = translated("mes")
    first = events[0]
    assert first["type"] == "production.component.consumed" and first["id"] == "CM-00000001"
    assert first["data"]["item_id"] == "RM-HOUSING-A" and first["data"]["lot"] == "SUP-L77"
    assert first["data"]["storage_location"] == "PR01" and first["data"]["quantity"]["uom"] == "EA"
    resin = next(ce for ce in events if ce["data"].get("item_id") == "RM-PA6-RESIN")
    assert resin["data"]["quantity"]["uom"] == "KG"
    reports = [ce["data"] for ce in events if ce["type"] == "production.goods.completed"]
    assert [(r["yield_quantity"]["value"], r["scrap_quantity"]["value"], r["final"]) for r in reports] == [
        ("8", "1", False),
        ("11", "0", True),
    ]
    assert {r["storage_location"] for r in reports} == {"FG01"}


def test_wms_receipt_and_staging_transfer_but_no_putaway_echo() -> None:
    events = translated("wms")
    assert [ce["type"] for ce in events] == ["procurement.goods.received", "inventory.transferred"]
    receipt = events[0]["data"]
    assert receipt["asn_id"] == "ASN-000001" and receipt["po_number"] == "4500000001"
    assert receipt["lines"] == [
        {
            "line": 1,
            "po_line": 10,
            "item_id": "RM-HOUSING-A",
            "lot": "ACME-000001-10",
            "quantity": {"value": "100", "uom": "EA"},
            "storage_location": "RM01",
        }
    ]
    move = events[1]["data"]
    assert (move["from_location"], move["to_location"], move["reason"]) == ("RM01", "PR01", "STAGE")


def test_supplier_ack_lines_and_delay() -> None:
    ack, delay = translated("supplier")
    assert ack["id"] == "ACK-4500000001-0" and ack["source"] == "supplier/SUP-200"
    assert ack["data"]["lines"] == [
        {
            "line": 10,
            "status": "changed",
            "quantity": {"value": "80", "uom": "EA"},
            "delivery_date": "2026-12-07",
            "reason": "capacity",
        },
        {"line": 20, "status": "rejected", "reason": "discontinued"},
        {"line": 30, "status": "accepted"},
    ]
    assert delay["type"] == "procurement.shipment.delayed" and delay["data"]["lines"] == [30]
    assert (delay["data"]["original_date"], delay["data"]["new_date"]) == ("2026-12-04", "2026-12-07")


def test_unknown_sim_id_names_system_field_and_value() -> None:
    event = next(e for e in recorded("mes") if e["eventType"] == "MaterialConsumed")
    bad = {**event, "payload": {**event["payload"], "partNumber": "P-9999"}}
    with pytest.raises(UnknownCrossReference, match="mes partNumber 'P-9999'") as caught:
        mes.translate_event(bad, MM)
    assert isinstance(caught.value, PermanentError)
    assert (caught.value.system, caught.value.field, caught.value.value) == ("mes", "partNumber", "P-9999")


def test_receipt_without_po_line_is_untranslatable() -> None:
    event = next(e for e in recorded("wms") if e["event"] == "GOODS_RECEIVED")
    body = {**event["body"], "lines": [{**event["body"]["lines"][0], "poLine": None}]}
    with pytest.raises(InvalidEvent, match="names no PO line"):
        wms.translate_event({**event, "body": body}, WM)


def test_erp_reference_fits_40_characters_deterministically() -> None:
    assert erp.reference("short-key") == "short-key"
    long_key = "flow:completion/000001000001/step:goods-receipt/attempt-independent"
    ref = erp.reference(long_key)
    assert len(ref) == 40 and ref.startswith("PW-") and ref == erp.reference(long_key)
    assert ref != erp.reference(long_key + "x")


def test_erp_goods_movement_body() -> None:
    cmd = PostGoodsMovement(
        movement=Movement.GOODS_ISSUE_TO_ORDER,
        plant="1000",
        item_id="RM-PA6-RESIN",
        quantity={"value": Decimal("2.5"), "uom": "KG"},
        storage_location="PR01",
        lot="L7",
        order_id="000001000001",
    )
    body = erp.goods_movement(cmd, "ref-1", EM)
    assert body == {
        "GOODSMVT_HEADER": {"REF_DOC_NO": "ref-1"},
        "ITEMS": [
            {
                "BWART": "261",
                "MATNR": "30000001",
                "WERKS": "1000",
                "LGORT": "PR01",
                "CHARG": "L7",
                "ERFMG": "2.5",
                "ERFME": "KG",
                "AUFNR": "000001000001",
            }
        ],
    }


def test_outbound_unknown_golden_ids_are_permanent() -> None:
    staging = RequestStaging(
        order_id="1",
        plant="1000",
        lines=[{"line": 1, "item_id": "RM-NOPE", "quantity": {"value": "1", "uom": "EA"}}],
    )
    with pytest.raises(UnknownCrossReference, match="RM-NOPE"):
        wms.staging(staging, WM)
    order = DownloadProductionOrder(
        order_id="1",
        plant="1000",
        item_id="FG-PUMP-100",
        quantity={"value": "1", "uom": "EA"},
        work_center="WC-NOWHERE",
    )
    with pytest.raises(UnknownCrossReference, match="WC-NOWHERE"):
        mes.work_order(order, MM)
    po = SendPurchaseOrder(
        po_number="45",
        revision=0,
        plant="1000",
        supplier_id="SUP-100",
        currency="EUR",
        lines=[
            {
                "line": 10,
                "item_id": "RM-HOUSING-A",
                "quantity": {"value": "1", "uom": "EA"},
                "delivery_date": date(2026, 12, 1),
            }
        ],
    )
    with pytest.raises(UnknownCrossReference, match="SUP-100"):
        sup.purchase_order(po, SM)


def test_plain_numbers() -> None:
    assert [plain(v) for v in ("20.000", 8, 2.5, "0.000", "1E+2")] == ["20", "8", "2.5", "0", "100"]
