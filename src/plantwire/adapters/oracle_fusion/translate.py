"""Pure mapping between Oracle Fusion Cloud SCM REST JSON and the canonical model.

workOrders <-> production.order.released (status ORA_RELEASED); purchaseOrders <->
procurement.po.approved (status OPEN); erp.post_goods_movement (goods receipt for a PO) <->
receivingReceiptRequests, and a processed receipt -> procurement.goods.received. Field names come
from the field maps in mapping.py; errors are `InvalidEvent`s located by JSON path.
"""

from __future__ import annotations

from typing import Any

from plantwire.adapters._erp_canonical import build, cloud_event
from plantwire.adapters._erp_json import JsonNode, invalid, lookup, plain, rows
from plantwire.adapters.oracle_fusion.mapping import (
    PO_APPROVED,
    PURCHASE_ORDER,
    RECEIPT,
    WORK_ORDER,
    WORK_ORDER_STATUS,
    OracleMapping,
    unit_in,
    unit_out,
)
from plantwire.domain.commands import Movement, PostGoodsMovement
from plantwire.domain.procurement import GoodsReceived, PurchaseOrderApproved
from plantwire.domain.production import ProductionOrderReleased

Json = dict[str, Any]
W, P, R = WORK_ORDER, PURCHASE_ORDER, RECEIPT


def _qty(n: JsonNode, value: str, unit: str, m: OracleMapping) -> Json:
    return {"value": n.num(value, positive=True), "uom": unit_in(m.units, n.text(unit), n.at(unit))}


# -- work orders -----------------------------------------------------------------------------------
def parse_work_order(item: JsonNode, m: OracleMapping) -> ProductionOrderReleased | None:
    """A workOrders item as a released order; None when its status is not ORA_RELEASED."""
    if lookup(WORK_ORDER_STATUS, item.text(W["status"]), item.at(W["status"]), "status") != "released":
        return None
    plant = m.organizations.to_golden(item.text(W["organization"]), item.at(W["organization"]))
    ops = item.many(W["operations"])
    components = [
        {
            "line": mat.int(W["mat_seq"]),
            "item_id": m.items.to_golden(mat.text(W["mat_item"]), mat.at(W["mat_item"])),
            "quantity": _qty(mat, W["mat_qty"], W["mat_uom"], m),
            "operation": str(op.int(W["op_seq"])),
            "storage_location": m.subinventories.to_golden(
                mat.text(W["mat_subinventory"]), mat.at(W["mat_subinventory"])
            )
            if mat.get(W["mat_subinventory"])
            else None,
        }
        for op in ops
        for mat in op.many(W["materials"])
    ]
    # Oracle groups materials by operation; ours go in line order
    components.sort(key=lambda c: int(str(c["line"])))
    data = {
        "order_id": item.text(W["number"]),
        "plant": plant,
        "item_id": m.items.to_golden(item.text(W["item"]), item.at(W["item"])),
        "quantity": _qty(item, W["quantity"], W["uom"], m),
        "scheduled_start": item.moment(W["start"]),
        "scheduled_end": item.moment(W["end"]),
        "due_date": item.date(W["due"]) if item.get(W["due"]) else None,
        "work_center": ops[0].get(W["work_center"]) if ops else None,
        "components": components,
    }
    return build(ProductionOrderReleased, data, item.path)


def work_order_events(body: Any, m: OracleMapping) -> list[Json]:
    """Released work orders of a workOrders GET answer -> production.order.released."""
    out = []
    for item in rows(body):
        order = parse_work_order(item, m)
        if order is not None:
            out.append(
                cloud_event(
                    m.source, f"WO-{order.order_id}/released", "production.order.released", order, order.plant
                )
            )
    return out


def emit_work_order(order: ProductionOrderReleased, m: OracleMapping) -> Json:
    """A workOrders item for a released order (POST body; fixtures and round trips)."""
    by_op: dict[str, list[Json]] = {}
    for i, c in enumerate(order.components):
        by_op.setdefault(c.operation or "10", []).append(
            {
                W["mat_seq"]: c.line,
                W["mat_item"]: m.items.to_system(c.item_id, f"$.components[{i}].item_id"),
                W["mat_qty"]: plain(c.quantity.value),
                W["mat_uom"]: unit_out(m.units, c.quantity.uom, f"$.components[{i}].quantity.uom"),
                W["mat_subinventory"]: m.subinventories.to_system(c.storage_location, f"$.components[{i}]")
                if c.storage_location
                else None,
            }
        )
    if order.work_center and not by_op:
        by_op["10"] = []
    for seq in by_op:
        if not seq.isdigit():
            raise invalid(
                "$.components", "integer", f"Oracle operation sequence numbers are numeric, got {seq!r}"
            )
    operations = [
        {W["op_seq"]: int(seq), W["work_center"]: order.work_center, W["materials"]: mats}
        for seq, mats in by_op.items()
    ]
    return {
        W["number"]: order.order_id,
        W["organization"]: m.organizations.to_system(order.plant, "$.plant"),
        W["item"]: m.items.to_system(order.item_id, "$.item_id"),
        W["quantity"]: plain(order.quantity.value),
        W["uom"]: unit_out(m.units, order.quantity.uom, "$.quantity.uom"),
        W["status"]: "ORA_RELEASED",
        W["start"]: order.scheduled_start.isoformat(),
        W["end"]: order.scheduled_end.isoformat(),
        W["due"]: order.due_date.isoformat() if order.due_date else None,
        W["operations"]: operations,
    }


# -- purchase orders -------------------------------------------------------------------------------
def parse_purchase_order(item: JsonNode, m: OracleMapping) -> PurchaseOrderApproved | None:
    """A purchaseOrders item (with lines and schedules) as an approved PO; None unless OPEN."""
    if item.text(P["status"]) not in PO_APPROVED:
        return None
    lines, plant = [], None
    for line in item.many(P["lines"]):
        schedules = line.many(P["schedules"])
        if not schedules:
            raise invalid(line.at(P["schedules"]), "missing-field", "a PO line needs a schedule")
        s = schedules[0]
        plant = plant or m.organizations.to_golden(s.text(P["organization"]), s.at(P["organization"]))
        sub = s.get(P["subinventory"])
        lines.append(
            {
                "line": line.int(P["line"]),
                "item_id": m.items.to_golden(line.text(P["item"]), line.at(P["item"])),
                "quantity": _qty(line, P["quantity"], P["uom"], m),
                "unit_price": line.num(P["price"]) if line.get(P["price"]) is not None else None,
                "delivery_date": s.date(P["need_by"]),
                "storage_location": m.subinventories.to_golden(sub, s.at(P["subinventory"])) if sub else None,
            }
        )
    if plant is None:
        raise invalid(item.at(P["lines"]), "missing-field", "a purchase order needs at least one line")
    data = {
        "po_number": item.text(P["number"]),
        "revision": item.int(P["revision"]) if item.get(P["revision"]) else 0,
        "plant": plant,
        "supplier_id": m.suppliers.to_golden(item.text(P["supplier"]), item.at(P["supplier"])),
        "currency": item.text(P["currency"]),
        "lines": lines,
        "approved_at": item.moment(P["approved_at"]),
    }
    return build(PurchaseOrderApproved, data, item.path)


def purchase_order_events(body: Any, m: OracleMapping) -> list[Json]:
    """Approved (OPEN) purchase orders -> procurement.po.approved, identified by number and revision."""
    out = []
    for item in rows(body):
        po = parse_purchase_order(item, m)
        if po is not None:
            out.append(
                cloud_event(
                    m.source,
                    f"PO-{po.po_number}/rev-{po.revision}",
                    "procurement.po.approved",
                    po,
                    po.plant,
                    po.approved_at.isoformat(),
                )
            )
    return out


def emit_purchase_order(po: PurchaseOrderApproved, m: OracleMapping) -> Json:
    """A purchaseOrders item for an approved PO (fixtures and round trips)."""
    org = m.organizations.to_system(po.plant, "$.plant")
    lines = [
        {
            P["line"]: ln.line,
            P["item"]: m.items.to_system(ln.item_id, f"$.lines[{i}].item_id"),
            P["quantity"]: plain(ln.quantity.value),
            P["uom"]: unit_out(m.units, ln.quantity.uom, f"$.lines[{i}]"),
            P["price"]: plain(ln.unit_price) if ln.unit_price is not None else None,
            P["schedules"]: [
                {
                    "ScheduleNumber": 1,
                    P["need_by"]: ln.delivery_date.isoformat(),
                    P["organization"]: org,
                    P["subinventory"]: m.subinventories.to_system(ln.storage_location, f"$.lines[{i}]")
                    if ln.storage_location
                    else None,
                }
            ],
        }
        for i, ln in enumerate(po.lines)
    ]
    return {
        P["number"]: po.po_number,
        P["revision"]: po.revision,
        P["status"]: "OPEN",
        P["supplier"]: m.suppliers.to_system(po.supplier_id, "$.supplier_id"),
        P["currency"]: po.currency,
        P["approved_at"]: po.approved_at.isoformat(),
        P["lines"]: lines,
    }


# -- receipts --------------------------------------------------------------------------------------
def emit_receipt_request(cmd: PostGoodsMovement, reference: str, m: OracleMapping) -> Json:
    """receivingReceiptRequests POST body for a goods receipt to a PO line (receive and deliver)."""
    if cmd.movement is not Movement.GOODS_RECEIPT_FOR_PO or cmd.po_number is None or cmd.po_line is None:
        raise invalid(
            "$.movement",
            "unsupported-movement",
            "Oracle receipts carry goods receipts for a PO line (po_number and po_line)",
        )
    org = m.organizations.to_system(cmd.plant, "$.plant")
    line: Json = {
        R["source"]: "VENDOR",
        R["document_code"]: "PO",
        R["transaction_type"]: "RECEIVE",
        R["auto_transact"]: "DELIVER",
        R["organization"]: org,
        R["po"]: cmd.po_number,
        R["po_line"]: cmd.po_line,
        R["po_schedule"]: 1,
        R["item"]: m.items.to_system(cmd.item_id, "$.item_id"),
        R["quantity"]: plain(cmd.quantity.value),
        R["uom"]: unit_out(m.units, cmd.quantity.uom, "$.quantity.uom"),
        R["subinventory"]: m.subinventories.to_system(cmd.storage_location, "$.storage_location"),
    }
    if cmd.lot:
        line[R["lots"]] = [{R["lot"]: cmd.lot, R["lot_quantity"]: plain(cmd.quantity.value)}]
    return {R["source"]: "VENDOR", R["organization"]: org, R["reference"]: reference, R["lines"]: [line]}


def _receipt_line(line: JsonNode, m: OracleMapping) -> Json:
    lots = line.many(R["lots"])
    if len(lots) > 1:
        raise invalid(line.at(R["lots"]), "one-lot", "a canonical receipt line carries at most one lot")
    return {
        "po_line": line.int(R["po_line"]),
        "item_id": m.items.to_golden(line.text(R["item"]), line.at(R["item"])),
        "quantity": _qty(line, R["quantity"], R["uom"], m),
        "lot": lots[0].text(R["lot"]) if lots else None,
        "storage_location": m.subinventories.to_golden(
            line.text(R["subinventory"]), line.at(R["subinventory"])
        ),
    }


def parse_receipt_request(body: Any, m: OracleMapping) -> tuple[PostGoodsMovement, str | None]:
    """A one-line receivingReceiptRequests body as a canonical goods movement, and its reference."""
    head = JsonNode(body, "$")
    lines = head.many(R["lines"])
    if len(lines) != 1:
        raise invalid(
            head.at(R["lines"]), "one-line", f"expected exactly one receipt line, found {len(lines)}"
        )
    line = lines[0]
    fields = _receipt_line(line, m)
    data = {
        "movement": "goods_receipt_for_po",
        "po_number": line.text(R["po"]),
        "plant": m.organizations.to_golden(line.text(R["organization"]), line.at(R["organization"])),
        "item_id": fields["item_id"],
        "quantity": fields["quantity"],
        "lot": fields["lot"],
        "storage_location": fields["storage_location"],
        "po_line": fields["po_line"],
    }
    return build(PostGoodsMovement, data, head.path), head.get(R["reference"])


def receipt_events(body: Any, m: OracleMapping) -> list[Json]:
    """A processed receipt (ReceiptNumber and TransactionDate set) -> procurement.goods.received."""
    head = JsonNode(body, "$")
    lines = head.many(R["lines"])
    if not lines:
        raise invalid(head.at(R["lines"]), "missing-field", "a receipt needs lines")
    pos = {ln.text(R["po"]) for ln in lines}
    if len(pos) != 1:
        raise invalid(head.at(R["lines"]), "one-po", "a canonical receipt is against one purchase order")
    receipt = head.text(R["receipt_number"])
    data = {
        "receipt_id": receipt,
        "po_number": pos.pop(),
        "plant": m.organizations.to_golden(head.text(R["organization"]), head.at(R["organization"])),
        "supplier_id": m.suppliers.to_golden(head.text(R["supplier"]), head.at(R["supplier"]))
        if head.get(R["supplier"])
        else None,
        "asn_id": head.get(R["asn"]),
        "lines": [{"line": n, **_receipt_line(ln, m)} for n, ln in enumerate(lines, 1)],
        "received_at": head.moment(R["date"]),
    }
    received = build(GoodsReceived, data, head.path)
    return [
        cloud_event(
            m.source,
            f"RCPT-{receipt}",
            "procurement.goods.received",
            received,
            received.plant,
            received.received_at.isoformat(),
        )
    ]
