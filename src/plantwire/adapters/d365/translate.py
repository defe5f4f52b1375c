"""Pure mapping between Dynamics 365 F&O OData JSON and the canonical model.

A D365 "document" here is a header entity with its line entities, as two GETs (or two POSTs) see them:
``{"<HeaderSet>": {...}, "<LineSet>": {"value": [...]}}``.
ProductionOrderHeaders + ProductionOrderBillOfMaterialLines <-> production.order.released (Released);
PurchaseOrderHeadersV2 + PurchaseOrderLinesV2 <-> procurement.po.approved (Approved/Confirmed);
erp.post_goods_movement <-> InventoryTransferJournal* (transfer, block, unblock) or
InventoryMovementJournal* (order issue and receipt, PO receipt) with the reference in Description.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from plantwire.adapters._erp_canonical import build, cloud_event
from plantwire.adapters._erp_json import JsonNode, invalid, lookup, plain, rows
from plantwire.adapters.d365.mapping import (
    ENTITY_SETS,
    INVENTORY_STATUS,
    JOURNAL,
    JOURNAL_NAMES,
    PO_APPROVED,
    PRODUCTION_ORDER,
    PRODUCTION_STATUS,
    PURCHASE_ORDER,
    STATUS_CHANGES,
    TRANSFER_MOVEMENTS,
    D365Mapping,
    unit_in,
    unit_out,
)
from plantwire.domain.commands import PostGoodsMovement
from plantwire.domain.procurement import PurchaseOrderApproved
from plantwire.domain.production import ProductionOrderReleased

Json = dict[str, Any]
PR, P, J, S = PRODUCTION_ORDER, PURCHASE_ORDER, JOURNAL, ENTITY_SETS
_REF = re.compile(
    r"^PW:(?P<ref>[^ ]+)(?: order:(?P<order>\S+))?(?: po:(?P<po>[^/\s]+)/(?P<line>\d+))?"
    r"(?: text:(?P<text>.*))?$"
)


def _parts(doc: Any, header_set: str, line_set: str) -> tuple[JsonNode, list[JsonNode]]:
    body = JsonNode(doc, "$")
    head = JsonNode(body.req(header_set), f"$.{header_set}")
    lines = [
        JsonNode(r.obj, f"$.{line_set}{r.path[1:]}") for r in rows(body.obj.get(line_set) or {"value": []})
    ]
    return head, lines


def _day(d: date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def _at(n: JsonNode, day: str, seconds: str | None) -> datetime:
    start = datetime.combine(n.date(day), time(0), UTC)
    return start + timedelta(seconds=n.int(seconds)) if seconds and n.get(seconds) is not None else start


def _qty(n: JsonNode, value: str, unit: str, m: D365Mapping) -> Json:
    return {"value": n.num(value, positive=True), "uom": unit_in(m.units, n.text(unit), n.at(unit))}


# -- production orders -----------------------------------------------------------------------------
def parse_production_order(doc: Any, m: D365Mapping) -> ProductionOrderReleased | None:
    """A production order with its BOM lines as a released order; None unless Released."""
    head, lines = _parts(doc, S["production_orders"], S["production_bom"])
    if lookup(PRODUCTION_STATUS, head.text(PR["status"]), head.at(PR["status"]), "status") != "released":
        return None
    components = [
        {
            "line": ln.int(PR["bom_line"]),
            "item_id": m.items.to_golden(ln.text(PR["bom_item"]), ln.at(PR["bom_item"])),
            "quantity": _qty(ln, PR["bom_qty"], PR["bom_uom"], m),
            "storage_location": m.warehouses.to_golden(
                ln.text(PR["bom_warehouse"]), ln.at(PR["bom_warehouse"])
            )
            if ln.get(PR["bom_warehouse"])
            else None,
            "operation": str(ln.int(PR["bom_operation"])) if ln.get(PR["bom_operation"]) else None,
        }
        for ln in lines
    ]
    data = {
        "order_id": head.text(PR["number"]),
        "plant": m.sites.to_golden(head.text(PR["site"]), head.at(PR["site"])),
        "item_id": m.items.to_golden(head.text(PR["item"]), head.at(PR["item"])),
        "quantity": _qty(head, PR["quantity"], PR["uom"], m),
        "scheduled_start": _at(head, PR["start"], PR["start_time"]),
        "scheduled_end": _at(head, PR["end"], PR["end_time"]),
        "due_date": head.date(PR["due"]) if head.get(PR["due"]) else None,
        "work_center": head.get(PR["resource"]),
        "components": components,
    }
    return build(ProductionOrderReleased, data, head.path)


def production_order_events(doc: Any, m: D365Mapping) -> list[Json]:
    """A released production order -> [production.order.released]."""
    order = parse_production_order(doc, m)
    if order is None:
        return []
    return [
        cloud_event(
            m.source, f"PROD-{order.order_id}/released", "production.order.released", order, order.plant
        )
    ]


def _seconds(moment: datetime) -> tuple[str, int]:
    utc = moment.astimezone(UTC)
    return _day(utc.date()), utc.hour * 3600 + utc.minute * 60 + utc.second


def emit_production_order(order: ProductionOrderReleased, m: D365Mapping) -> Json:
    """The D365 document for a released order (fixtures and round trips)."""
    (sd, st), (ed, et) = _seconds(order.scheduled_start), _seconds(order.scheduled_end)
    for i, c in enumerate(order.components):
        if c.operation is not None and not c.operation.isdigit():
            raise invalid(f"$.components[{i}].operation", "integer", "D365 operation numbers are integers")
    header = {
        "dataAreaId": m.company,
        PR["number"]: order.order_id,
        PR["status"]: "Released",
        PR["site"]: m.sites.to_system(order.plant, "$.plant"),
        PR["item"]: m.items.to_system(order.item_id, "$.item_id"),
        PR["quantity"]: plain(order.quantity.value),
        PR["uom"]: unit_out(m.units, order.quantity.uom, "$.quantity.uom"),
        PR["start"]: sd,
        PR["start_time"]: st,
        PR["end"]: ed,
        PR["end_time"]: et,
        PR["due"]: _day(order.due_date) if order.due_date else None,
        PR["resource"]: order.work_center,
    }
    lines = [
        {
            "dataAreaId": m.company,
            PR["number"]: order.order_id,
            PR["bom_line"]: c.line,
            PR["bom_item"]: m.items.to_system(c.item_id, f"$.components[{i}].item_id"),
            PR["bom_qty"]: plain(c.quantity.value),
            PR["bom_uom"]: unit_out(m.units, c.quantity.uom, f"$.components[{i}].quantity.uom"),
            PR["bom_warehouse"]: m.warehouses.to_system(c.storage_location, f"$.components[{i}]")
            if c.storage_location
            else None,
            PR["bom_operation"]: int(c.operation) if c.operation else None,
        }
        for i, c in enumerate(order.components)
    ]
    return {S["production_orders"]: header, S["production_bom"]: {"value": lines}}


# -- purchase orders -------------------------------------------------------------------------------
def parse_purchase_order(doc: Any, m: D365Mapping) -> PurchaseOrderApproved | None:
    """PurchaseOrderHeadersV2 + PurchaseOrderLinesV2 as an approved PO; None unless Approved/Confirmed."""
    head, lines = _parts(doc, S["po_headers"], S["po_lines"])
    if head.text(P["approval"]) not in PO_APPROVED:
        return None
    data = {
        "po_number": head.text(P["number"]),
        "revision": head.int(P["revision"]) if head.get(P["revision"]) is not None else 0,
        "plant": m.sites.to_golden(head.text(P["site"]), head.at(P["site"])),
        "supplier_id": m.vendors.to_golden(head.text(P["vendor"]), head.at(P["vendor"])),
        "currency": head.text(P["currency"]),
        "approved_at": head.moment(P["approved_at"]),
        "lines": [
            {
                "line": ln.int(P["line"]),
                "item_id": m.items.to_golden(ln.text(P["item"]), ln.at(P["item"])),
                "quantity": _qty(ln, P["quantity"], P["uom"], m),
                "unit_price": ln.num(P["price"]) if ln.get(P["price"]) is not None else None,
                "delivery_date": ln.date(P["delivery"]),
                "storage_location": m.warehouses.to_golden(ln.text(P["warehouse"]), ln.at(P["warehouse"]))
                if ln.get(P["warehouse"])
                else None,
            }
            for ln in lines
        ],
    }
    return build(PurchaseOrderApproved, data, head.path)


def purchase_order_events(doc: Any, m: D365Mapping) -> list[Json]:
    """An approved PO -> [procurement.po.approved], identified by number and revision."""
    po = parse_purchase_order(doc, m)
    if po is None:
        return []
    return [
        cloud_event(
            m.source,
            f"PO-{po.po_number}/rev-{po.revision}",
            "procurement.po.approved",
            po,
            po.plant,
            po.approved_at.isoformat(),
        )
    ]


def emit_purchase_order(po: PurchaseOrderApproved, m: D365Mapping) -> Json:
    """The D365 document for an approved PO (fixtures and round trips)."""
    header = {
        "dataAreaId": m.company,
        P["number"]: po.po_number,
        P["revision"]: po.revision,
        P["approval"]: "Approved",
        P["site"]: m.sites.to_system(po.plant, "$.plant"),
        P["vendor"]: m.vendors.to_system(po.supplier_id, "$.supplier_id"),
        P["currency"]: po.currency,
        P["approved_at"]: po.approved_at.isoformat(),
    }
    lines = [
        {
            "dataAreaId": m.company,
            P["number"]: po.po_number,
            P["line"]: ln.line,
            P["item"]: m.items.to_system(ln.item_id, f"$.lines[{i}].item_id"),
            P["quantity"]: plain(ln.quantity.value),
            P["uom"]: unit_out(m.units, ln.quantity.uom, f"$.lines[{i}].quantity.uom"),
            P["price"]: plain(ln.unit_price) if ln.unit_price is not None else None,
            P["delivery"]: _day(ln.delivery_date),
            P["warehouse"]: m.warehouses.to_system(ln.storage_location, f"$.lines[{i}]")
            if ln.storage_location
            else None,
        }
        for i, ln in enumerate(po.lines)
    ]
    return {S["po_headers"]: header, S["po_lines"]: {"value": lines}}


# -- inventory journals ----------------------------------------------------------------------------
def journal_sets(movement: str) -> tuple[str, str]:
    """(header set, line set) of the journal a movement is posted with."""
    kind = "transfer" if movement in TRANSFER_MOVEMENTS else "movement"
    return S[f"{kind}_headers"], S[f"{kind}_lines"]


def _description(cmd: PostGoodsMovement, reference: str) -> str:
    text = f"PW:{reference}"
    if cmd.order_id:
        text += f" order:{cmd.order_id}"
    if cmd.po_number:
        text += f" po:{cmd.po_number}/{cmd.po_line or 0}"
    if cmd.text:
        text += f" text:{cmd.text}"
    if len(text) > 60 or " " in (cmd.order_id or "") + (cmd.po_number or ""):
        raise invalid(
            "$.text", "max-length", "the journal Description (60 characters) cannot hold the references"
        )
    return text


def emit_journal(cmd: PostGoodsMovement, reference: str, m: D365Mapping, posting: date) -> Json:
    """The journal header and its one line for erp.post_goods_movement; the reference leads Description."""
    mv = cmd.movement.value
    header_set, line_set = journal_sets(mv)
    site = m.sites.to_system(cmd.plant, "$.plant")
    warehouse = m.warehouses.to_system(cmd.storage_location, "$.storage_location")
    header = {
        "dataAreaId": m.company,
        J["name"]: JOURNAL_NAMES[mv],
        J["description"]: _description(cmd, reference),
    }
    line: Json = {
        "dataAreaId": m.company,
        J["line"]: 1,
        J["item"]: m.items.to_system(cmd.item_id, "$.item_id"),
        J["date"]: _day(posting),
    }
    sign = -1 if mv == "goods_issue_to_order" else 1
    if mv in TRANSFER_MOVEMENTS:
        to = cmd.to_location or cmd.storage_location
        if mv == "transfer" and cmd.to_location is None:
            raise invalid("$.to_location", "required", "a transfer needs to_location")
        before, after = STATUS_CHANGES.get(mv, ("available", "available"))
        line.update(
            {
                J["from_site"]: site,
                J["from_warehouse"]: warehouse,
                J["to_site"]: site,
                J["to_warehouse"]: m.warehouses.to_system(to, "$.to_location"),
                J["from_batch"]: cmd.lot,
                J["to_batch"]: cmd.lot,
                J["quantity"]: plain(cmd.quantity.value),
                J["from_status"]: INVENTORY_STATUS[before],
                J["to_status"]: INVENTORY_STATUS[after],
            }
        )
    else:
        line.update(
            {
                J["site"]: site,
                J["warehouse"]: warehouse,
                J["batch"]: cmd.lot,
                J["quantity"]: plain(sign * cmd.quantity.value),
            }
        )
    line["InventoryUnitSymbol"] = unit_out(m.units, cmd.quantity.uom, "$.quantity.uom")
    return {header_set: header, line_set: {"value": [{k: v for k, v in line.items() if v is not None}]}}


def parse_journal(doc: Any, m: D365Mapping) -> tuple[PostGoodsMovement, str]:
    """A one-line plantwire journal as the canonical goods movement, and its reference."""
    body = JsonNode(doc, "$")
    transfer = S["transfer_headers"] in body.obj
    header_set, line_set = (
        (S["transfer_headers"], S["transfer_lines"])
        if transfer
        else (S["movement_headers"], S["movement_lines"])
    )
    head, lines = _parts(doc, header_set, line_set)
    if len(lines) != 1:
        raise invalid(f"$.{line_set}", "one-line", f"expected one journal line, found {len(lines)}")
    ln = lines[0]
    movement = lookup(
        {v: k for k, v in JOURNAL_NAMES.items()}, head.text(J["name"]), head.at(J["name"]), "journal"
    )
    ref = _REF.match(head.text(J["description"]))
    if ref is None:
        raise invalid(
            head.at(J["description"]), "reference", "Description does not carry a plantwire reference"
        )
    data: Json = {
        "movement": movement,
        "item_id": m.items.to_golden(ln.text(J["item"]), ln.at(J["item"])),
        "order_id": ref["order"],
        "po_number": ref["po"],
        "text": ref["text"],
        "po_line": int(ref["line"]) if ref["line"] and int(ref["line"]) else None,
    }
    unit = unit_in(m.units, ln.text("InventoryUnitSymbol"), ln.at("InventoryUnitSymbol"))
    if transfer:
        to = m.warehouses.to_golden(ln.text(J["to_warehouse"]), ln.at(J["to_warehouse"]))
        data.update(
            {
                "plant": m.sites.to_golden(ln.text(J["from_site"]), ln.at(J["from_site"])),
                "storage_location": m.warehouses.to_golden(
                    ln.text(J["from_warehouse"]), ln.at(J["from_warehouse"])
                ),
                "to_location": to if movement == "transfer" else None,
                "lot": ln.get(J["from_batch"]),
                "quantity": {"value": ln.num(J["quantity"], positive=True), "uom": unit},
            }
        )
    else:
        raw = str(ln.req(J["quantity"]))
        negative = raw.startswith("-")
        if negative != (movement == "goods_issue_to_order"):
            raise invalid(
                ln.at(J["quantity"]),
                "sign",
                "issues are negative and receipts positive in a movement journal",
            )
        data.update(
            {
                "plant": m.sites.to_golden(ln.text(J["site"]), ln.at(J["site"])),
                "storage_location": m.warehouses.to_golden(ln.text(J["warehouse"]), ln.at(J["warehouse"])),
                "lot": ln.get(J["batch"]),
                "quantity": {
                    "value": JsonNode({"q": raw.lstrip("-")}, ln.path).num("q", positive=True),
                    "uom": unit,
                },
            }
        )
    return build(PostGoodsMovement, data, head.path), ref["ref"]
