"""Pure mapping between SAP S/4HANA OData JSON (V2 and V4 formats) and the canonical model.

- API_PROD_ORDER_CONFIRMATION_2_SRV, entity set ProdnOrdConf2 (with to_ProdnOrdConfMatlDocItm):
  production.goods.completed <-> confirmation POST body. ConfirmationText carries the completion id.
- API_MATERIAL_DOCUMENT_SRV, A_MaterialDocumentHeader (with to_MaterialDocumentItem):
  erp.post_goods_movement <-> deep-insert body; a read document also maps to canonical events.
- API_PRODUCTION_ORDER_2_SRV, A_ProductionOrder_2 (with to_ProductionOrderComponent):
  production.order.released when OrderIsReleased.
V2 bodies wrap entities in {"d": ...}, dates as "/Date(ms)/", times as "PT..H..M..S", decimals as
strings; V4 bodies are bare (collections in "value"), dates ISO, decimals as strings (IEEE754Compatible).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from plantwire.adapters._erp_canonical import build, cloud_event
from plantwire.adapters.sap.common import (
    JsonNode,
    at,
    invalid,
    lookup,
    odata_date,
    odata_time,
    plain,
    reference,
    v2_date,
    v2_time,
)
from plantwire.adapters.sap.mapping import (
    FINAL_CONFIRMATION,
    MOVEMENT_OF,
    MOVEMENTS,
    SapMapping,
    unit_in,
    unit_out,
)
from plantwire.domain.commands import PostGoodsMovement
from plantwire.domain.inventory import InventoryTransferred
from plantwire.domain.procurement import GoodsReceived
from plantwire.domain.production import ComponentConsumed, ProductionGoodsCompleted, ProductionOrderReleased

Json = dict[str, Any]
Version = Literal["v2", "v4"]
CONFIRMATION_SET = "ProdnOrdConf2"
MATERIAL_DOCUMENT_SET = "A_MaterialDocumentHeader"
PRODUCTION_ORDER_SET = "A_ProductionOrder_2"


def entity(body: Any) -> JsonNode:
    """The entity of a single-entity body: V2 {"d": {...}} or V4 {...}."""
    if isinstance(body, dict) and isinstance(body.get("d"), dict):
        return JsonNode(body["d"], "$.d")
    return JsonNode(body, "$")


def entities(body: Any) -> list[JsonNode]:
    """The entities of a collection body: V2 {"d": {"results": [...]}} or V4 {"value": [...]}."""
    if isinstance(body, dict) and isinstance(body.get("d"), dict) and "results" in body["d"]:
        rows, path = body["d"]["results"], "$.d.results"
    elif isinstance(body, dict) and "value" in body:
        rows, path = body["value"], "$.value"
    else:
        return [entity(body)]
    if not isinstance(rows, list):
        raise invalid(path, "type", "a collection must be a list")
    return [JsonNode(r, f"{path}[{i}]") for i, r in enumerate(rows)]


def _date(day: date, version: Version) -> str:
    return v2_date(day) if version == "v2" else day.isoformat()


def _time(moment: datetime, version: Version) -> str:
    return v2_time(moment.time()) if version == "v2" else moment.time().isoformat()


def _wrap(body: Json, version: Version) -> Json:
    return {"d": body} if version == "v2" else body


def _qty(n: JsonNode, value: str, unit: str, m: SapMapping, positive: bool = True) -> Json:
    return {
        "value": n.num(value, positive=positive),
        "uom": unit_in(m.units_odata, n.text(unit), f"{n.path}.{unit}"),
    }


# -- production order confirmation -----------------------------------------------------------------
def parse_confirmation(body: Any, m: SapMapping) -> ProductionGoodsCompleted:
    """A ProdnOrdConf2 entity (with its goods receipt item) as a canonical completion."""
    c = entity(body)
    receipt = next(
        (g for g in c.many("to_ProdnOrdConfMatlDocItm") if g.get("GoodsMovementType") == "101"), None
    )
    if receipt is None:
        raise invalid(
            f"{c.path}.to_ProdnOrdConfMatlDocItm",
            "missing-entity",
            "a completion needs its goods receipt item (GoodsMovementType 101)",
        )
    plant = m.plants.to_golden(receipt.text("Plant"), f"{receipt.path}.Plant")
    moment = at(
        odata_date(c.req("ConfirmedExecutionEndDate"), f"{c.path}.ConfirmedExecutionEndDate"),
        odata_time(c.get("ConfirmedExecutionEndTime"), f"{c.path}.ConfirmedExecutionEndTime"),
        m.zone(plant),
    )
    group, count = c.get("ConfirmationGroup"), c.get("ConfirmationCount")
    completion = c.get("ConfirmationText") or (f"{group}-{count}" if group and count else None)
    if completion is None:
        raise invalid(
            f"{c.path}.ConfirmationText", "missing-field", "neither ConfirmationText nor the key is set"
        )
    final = lookup(
        {k: str(v) for k, v in FINAL_CONFIRMATION.items()},
        c.get("FinalConfirmationType") or "",
        f"{c.path}.FinalConfirmationType",
        "confirmation type",
    )
    data = {
        "order_id": c.text("OrderID"),
        "plant": plant,
        "completion_id": completion,
        "item_id": m.items.to_golden(c.text("Material"), f"{c.path}.Material"),
        "yield_quantity": _qty(c, "ConfirmationYieldQuantity", "ConfirmationUnit", m, positive=False),
        "scrap_quantity": _qty(c, "ConfirmationScrapQuantity", "ConfirmationUnit", m, positive=False)
        if c.get("ConfirmationScrapQuantity") is not None
        else None,
        "lot": receipt.get("Batch"),
        "storage_location": m.locations.to_golden(
            receipt.text("StorageLocation"), f"{receipt.path}.StorageLocation"
        ),
        "completed_at": moment,
        "final": final == "True",
    }
    return build(ProductionGoodsCompleted, {k: v for k, v in data.items() if v is not None}, c.path)


def confirmation_events(body: Any, m: SapMapping) -> list[Json]:
    """ProdnOrdConf2 -> [production.goods.completed]."""
    done = parse_confirmation(body, m)
    return [
        cloud_event(
            m.source,
            f"CONF-{done.order_id}-{done.completion_id}",
            "production.goods.completed",
            done,
            done.plant,
            done.completed_at.isoformat(),
        )
    ]


def emit_confirmation(done: ProductionGoodsCompleted, m: SapMapping, version: Version = "v2") -> Json:
    """The POST body of a ProdnOrdConf2 confirmation with its goods receipt (101) item."""
    if len(done.completion_id) > 40:
        raise invalid("$.completion_id", "max-length", "ConfirmationText holds 40 characters")
    zone = m.zone(done.plant)
    there = done.completed_at.astimezone(ZoneInfo(zone))
    unit = unit_out(m.units_odata, done.yield_quantity.uom, "$.yield_quantity.uom")
    item = {
        "Material": m.items.to_sap(done.item_id, "$.item_id"),
        "Plant": m.plants.to_sap(done.plant, "$.plant"),
        "StorageLocation": m.locations.to_sap(done.storage_location, "$.storage_location"),
        "Batch": done.lot or "",
        "GoodsMovementType": "101",
        "EntryUnit": unit,
        "QuantityInEntryUnit": plain(done.yield_quantity.value),
        "ManufacturingOrder": done.order_id,
    }
    body = {
        "OrderID": done.order_id,
        "Material": item["Material"],
        "ConfirmationText": done.completion_id,
        "ConfirmationUnit": unit,
        "ConfirmationYieldQuantity": plain(done.yield_quantity.value),
        "ConfirmationScrapQuantity": plain(
            done.scrap_quantity.value if done.scrap_quantity.uom == done.yield_quantity.uom else Decimal(0)
        ),
        "FinalConfirmationType": "X" if done.final else "1",
        "ConfirmedExecutionEndDate": _date(there.date(), version),
        "ConfirmedExecutionEndTime": _time(there, version),
        "PostingDate": _date(there.date(), version),
        "to_ProdnOrdConfMatlDocItm": {"results": [item]} if version == "v2" else [item],
    }
    if done.scrap_quantity.uom != done.yield_quantity.uom and done.scrap_quantity.value:
        raise invalid("$.scrap_quantity.uom", "unit-mismatch", "SAP confirms yield and scrap in one unit")
    return body


# -- material documents ----------------------------------------------------------------------------
def emit_material_document(
    cmd: PostGoodsMovement, key: str, m: SapMapping, posting: date, version: Version = "v2"
) -> Json:
    """Deep-insert body of A_MaterialDocumentHeader for erp.post_goods_movement (key: ReferenceDocument)."""
    bwart, gm_code, indicator = MOVEMENTS[cmd.movement.value]
    if cmd.text is not None and len(cmd.text) > 25:
        raise invalid("$.text", "max-length", "MaterialDocumentHeaderText holds 25 characters")
    item: Json = {
        "Material": m.items.to_sap(cmd.item_id, "$.item_id"),
        "Plant": m.plants.to_sap(cmd.plant, "$.plant"),
        "StorageLocation": m.locations.to_sap(cmd.storage_location, "$.storage_location"),
        "GoodsMovementType": bwart,
        "EntryUnit": unit_out(m.units_odata, cmd.quantity.uom, "$.quantity.uom"),
        "QuantityInEntryUnit": plain(cmd.quantity.value),
        "GoodsMovementRefDocType": indicator,
    }
    optional = {
        "Batch": cmd.lot,
        "ManufacturingOrder": cmd.order_id,
        "PurchaseOrder": cmd.po_number,
        "PurchaseOrderItem": str(cmd.po_line).zfill(5) if cmd.po_line else None,
        "IssuingOrReceivingStorageLoc": m.locations.to_sap(cmd.to_location, "$.to_location")
        if cmd.to_location
        else None,
    }
    item.update({k: v for k, v in optional.items() if v is not None})
    body: Json = {
        "GoodsMovementCode": gm_code,
        "PostingDate": _date(posting, version),
        "DocumentDate": _date(posting, version),
        "ReferenceDocument": reference(key, 16),
        "to_MaterialDocumentItem": {"results": [item]} if version == "v2" else [item],
    }
    if cmd.text:
        body["MaterialDocumentHeaderText"] = cmd.text
    return body  # request bodies are bare in V2 too; only answers wrap entities in "d"


def _movement(i: JsonNode) -> str:
    key = f"{i.text('GoodsMovementType')}/{i.get('GoodsMovementRefDocType') or ''}"
    table = {f"{b}/{k}": v for (b, k), v in MOVEMENT_OF.items()}
    return lookup(table, key, f"{i.path}.GoodsMovementType", "movement")


def _movement_of_item(i: JsonNode, header_text: Any, m: SapMapping) -> Json:
    to_loc = i.get("IssuingOrReceivingStorageLoc")
    po_item = i.get("PurchaseOrderItem")
    return {
        "movement": _movement(i),
        "plant": m.plants.to_golden(i.text("Plant"), f"{i.path}.Plant"),
        "item_id": m.items.to_golden(i.text("Material"), f"{i.path}.Material"),
        "quantity": _qty(i, "QuantityInEntryUnit", "EntryUnit", m),
        "storage_location": m.locations.to_golden(i.text("StorageLocation"), f"{i.path}.StorageLocation"),
        "to_location": m.locations.to_golden(to_loc, f"{i.path}.IssuingOrReceivingStorageLoc")
        if to_loc
        else None,
        "lot": i.get("Batch"),
        "order_id": i.get("ManufacturingOrder"),
        "po_number": i.get("PurchaseOrder"),
        "po_line": int(po_item) if po_item and str(po_item).isdigit() and int(po_item) else None,
        "text": header_text,
    }


def parse_material_document(body: Any, m: SapMapping) -> list[PostGoodsMovement]:
    """Each item of an A_MaterialDocumentHeader as a canonical goods movement."""
    h = entity(body)
    items = h.many("to_MaterialDocumentItem")
    if not items:
        raise invalid(
            f"{h.path}.to_MaterialDocumentItem", "missing-entity", "a material document needs items"
        )
    return [
        build(PostGoodsMovement, _movement_of_item(i, h.get("MaterialDocumentHeaderText"), m), i.path)
        for i in items
    ]


def material_document_events(body: Any, m: SapMapping) -> list[Json]:
    """A posted material document as events: 261 consumed, 101/F completed, 101/B received, 311 transferred.

    Blocking (344/343) is left to quality events; a deployment where the hub posted these documents
    itself must not also ingest them (system-of-record rule: no echo).
    """
    h = entity(body)
    number, year = h.text("MaterialDocument"), h.text("MaterialDocumentYear")
    moment = at(
        odata_date(h.req("PostingDate"), f"{h.path}.PostingDate"),
        odata_time(h.get("CreationTime"), f"{h.path}.CreationTime"),
        m.default_timezone,
    )
    out = []
    for n, (i, cmd) in enumerate(
        zip(h.many("to_MaterialDocumentItem"), parse_material_document(body, m), strict=True), 1
    ):
        doc_id = f"{number}/{year}/{i.get('MaterialDocumentItem') or n}"
        made = _event_of(cmd, doc_id, moment)
        if made is not None:
            type_, data = made
            out.append(cloud_event(m.source, f"MDOC-{doc_id}", type_, data, cmd.plant, moment.isoformat()))
    return out


def _event_of(cmd: PostGoodsMovement, doc_id: str, moment: datetime) -> tuple[str, Any] | None:
    q = cmd.quantity.model_dump()
    common = {"plant": cmd.plant, "item_id": cmd.item_id, "lot": cmd.lot}
    mv = cmd.movement.value
    if mv == "goods_issue_to_order":
        return "production.component.consumed", build(
            ComponentConsumed,
            {
                **common,
                "order_id": cmd.order_id,
                "consumption_id": doc_id,
                "quantity": q,
                "storage_location": cmd.storage_location,
                "consumed_at": moment,
            },
            doc_id,
        )
    if mv == "goods_receipt_from_order":
        return "production.goods.completed", build(
            ProductionGoodsCompleted,
            {
                **common,
                "order_id": cmd.order_id,
                "completion_id": doc_id,
                "yield_quantity": q,
                "storage_location": cmd.storage_location,
                "completed_at": moment,
            },
            doc_id,
        )
    if mv == "goods_receipt_for_po":
        return "procurement.goods.received", build(
            GoodsReceived,
            {
                "receipt_id": doc_id,
                "po_number": cmd.po_number,
                "plant": cmd.plant,
                "received_at": moment,
                "lines": [
                    {
                        "line": 1,
                        "po_line": cmd.po_line or 1,
                        "item_id": cmd.item_id,
                        "quantity": q,
                        "lot": cmd.lot,
                        "storage_location": cmd.storage_location,
                    }
                ],
            },
            doc_id,
        )
    if mv == "transfer" and cmd.to_location != cmd.storage_location:  # same-location 311: no move
        return "inventory.transferred", build(
            InventoryTransferred,
            {
                **common,
                "transfer_id": doc_id,
                "quantity": q,
                "from_location": cmd.storage_location,
                "to_location": cmd.to_location,
                "transferred_at": moment,
            },
            doc_id,
        )
    return None


# -- production orders -----------------------------------------------------------------------------
def parse_production_order(body: Any, m: SapMapping) -> ProductionOrderReleased | None:
    """An A_ProductionOrder_2 entity as a released order; None unless OrderIsReleased."""
    o = entity(body)
    if o.get("OrderIsReleased") is not True:
        return None
    plant = m.plants.to_golden(o.text("ProductionPlant"), f"{o.path}.ProductionPlant")
    zone = m.zone(plant)

    def moment(day: str, clock: str) -> datetime:
        return at(
            odata_date(o.req(day), f"{o.path}.{day}"), odata_time(o.get(clock), f"{o.path}.{clock}"), zone
        )

    components = [
        {
            "line": int(c.text("ReservationItem")),
            "item_id": m.items.to_golden(c.text("Material"), f"{c.path}.Material"),
            "quantity": _qty(c, "RequiredQuantity", "BaseUnit", m),
            "storage_location": m.locations.to_golden(c.text("StorageLocation"), f"{c.path}.StorageLocation")
            if c.get("StorageLocation")
            else None,
            "operation": c.get("ManufacturingOrderOperation"),
        }
        for c in o.many("to_ProductionOrderComponent")
    ]
    due = o.get("MfgOrderPlannedEndDate")
    data = {
        "order_id": o.text("ManufacturingOrder"),
        "plant": plant,
        "item_id": m.items.to_golden(o.text("Material"), f"{o.path}.Material"),
        "quantity": _qty(o, "TotalQuantity", "ProductionUnit", m),
        "scheduled_start": moment("MfgOrderScheduledStartDate", "MfgOrderScheduledStartTime"),
        "scheduled_end": moment("MfgOrderScheduledEndDate", "MfgOrderScheduledEndTime"),
        "due_date": odata_date(due, f"{o.path}.MfgOrderPlannedEndDate") if due else None,
        "work_center": o.get("WorkCenter"),
        "components": components,
    }
    return build(ProductionOrderReleased, data, o.path)


def production_order_events(body: Any, m: SapMapping) -> list[Json]:
    """Released A_ProductionOrder_2 entities of a collection or single body -> production.order.released."""
    out = []
    for o in entities(body):
        order = parse_production_order(o.obj, m)
        if order is not None:
            out.append(
                cloud_event(
                    m.source,
                    f"ORD-{order.order_id}/released",
                    "production.order.released",
                    order,
                    order.plant,
                )
            )
    return out


def emit_production_order(order: ProductionOrderReleased, m: SapMapping, version: Version = "v2") -> Json:
    """An A_ProductionOrder_2 entity as SAP would return it (fixtures and round trips)."""
    zone = ZoneInfo(m.zone(order.plant))
    start, end = order.scheduled_start.astimezone(zone), order.scheduled_end.astimezone(zone)
    comps = [
        {
            "ReservationItem": str(c.line).zfill(4),
            "Material": m.items.to_sap(c.item_id, f"$.components[{i}]"),
            "RequiredQuantity": plain(c.quantity.value),
            "BaseUnit": unit_out(m.units_odata, c.quantity.uom, f"$.components[{i}].quantity.uom"),
            "StorageLocation": m.locations.to_sap(c.storage_location, f"$.components[{i}]")
            if c.storage_location
            else "",
            "ManufacturingOrderOperation": c.operation or "",
        }
        for i, c in enumerate(order.components)
    ]
    body = {
        "ManufacturingOrder": order.order_id,
        "OrderIsReleased": True,
        "ProductionPlant": m.plants.to_sap(order.plant, "$.plant"),
        "Material": m.items.to_sap(order.item_id, "$.item_id"),
        "TotalQuantity": plain(order.quantity.value),
        "ProductionUnit": unit_out(m.units_odata, order.quantity.uom, "$.quantity.uom"),
        "MfgOrderScheduledStartDate": _date(start.date(), version),
        "MfgOrderScheduledStartTime": _time(start, version),
        "MfgOrderScheduledEndDate": _date(end.date(), version),
        "MfgOrderScheduledEndTime": _time(end, version),
        "MfgOrderPlannedEndDate": _date(order.due_date, version) if order.due_date else None,
        "WorkCenter": order.work_center or "",
        "to_ProductionOrderComponent": {"results": comps} if version == "v2" else comps,
    }
    return _wrap(body, version)
