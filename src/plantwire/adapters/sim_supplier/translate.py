"""Pure mapping between the supplier portal's EDIFACT-named messages and the canonical model.

Inbound: ``ORDRSP`` -> ``procurement.supplier.acknowledged`` (id: the ackId, which carries the PO
revision); ``DELAY_NOTICE`` -> ``procurement.shipment.delayed`` (id: the noticeId). ``DESADV``
(ASN) has no canonical contract yet and is dropped, as is the technical ``ORDERS_RECEIPT``.
Outbound: ``supplier.send_purchase_order`` -> ``POST /api/purchase-orders``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plantwire.adapters.sim_supplier.mapping import SYSTEM, SupplierMapping
from plantwire.adapters.simfeed import UnknownCrossReference, cloud_event, lookup, plain
from plantwire.domain.commands import SendPurchaseOrder

Json = dict[str, Any]


def translate_event(event: Json, m: SupplierMapping) -> list[Json]:
    """Zero or more canonical CloudEvents for one supplier feed envelope."""
    kind = event.get("messageType")
    if kind == "ORDRSP":
        return [acknowledged(event, m)]
    if kind == "DELAY_NOTICE":
        return [delayed(event, m)]
    return []


def _source(supplier: str) -> str:
    return f"supplier/{supplier}"


def _ack_line(line: Json, m: SupplierMapping) -> Json:
    status = str(line["status"]).lower()
    out: Json = {"line": int(line["lineNo"]), "status": status}
    if status == "changed":
        m.parts.to_golden(line["supplierPart"])
        unit = lookup(m.part_units, line["supplierPart"], SYSTEM, "part unit")
        out["quantity"] = {"value": plain(line["confirmedQuantity"]), "uom": m.units.to_golden(unit)}
        if line.get("confirmedDate"):
            out["delivery_date"] = line["confirmedDate"]
    if status != "accepted" and line.get("reason"):
        out["reason"] = line["reason"]
    return out


def acknowledged(event: Json, m: SupplierMapping) -> Json:
    """ORDRSP -> procurement.supplier.acknowledged, line by line."""
    ack, supplier = event["content"], lookup(m.senders, event["sender"], SYSTEM, "sender")
    at = ack.get("sentAt") or event["sentAt"]
    data = {"po_number": ack["buyerPoNumber"], "revision": int(ack["revision"]), "supplier_id": supplier,
            "ack_id": ack["ackId"], "acknowledged_at": at, "lines": [_ack_line(ln, m) for ln in ack["lines"]]}
    return cloud_event(_source(supplier), ack["ackId"], "procurement.supplier.acknowledged", data, at,
                       m.plant)


def delayed(event: Json, m: SupplierMapping) -> Json:
    """DELAY_NOTICE -> procurement.shipment.delayed (one line, or the whole PO)."""
    notice, supplier = event["content"], lookup(m.senders, event["sender"], SYSTEM, "sender")
    data: Json = {"po_number": notice["buyerPoNumber"], "supplier_id": supplier,
                  "original_date": notice["originalDate"], "new_date": notice["newDate"],
                  "reason": notice.get("reason") or "no reason given"}
    if notice.get("lineNo") is not None:
        data["lines"] = [int(notice["lineNo"])]
    return cloud_event(_source(supplier), notice["noticeId"], "procurement.shipment.delayed", data,
                       event["sentAt"], m.plant)


def number(value: Decimal) -> int | float:
    """A quantity as the portal takes it: a JSON number, whole when it is whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def purchase_order(cmd: SendPurchaseOrder, m: SupplierMapping) -> Json:
    """The PO body; the portal dedupes on buyerPoNumber + revision."""
    if cmd.supplier_id != m.supplier_id:
        raise UnknownCrossReference(SYSTEM, "supplier_id", cmd.supplier_id)
    lines = []
    for line in cmd.lines:
        part = m.parts.to_system(line.item_id)
        lines.append({"lineNo": line.line, "supplierPart": part, "quantity": number(line.quantity.value),
                      "unit": m.units.to_system(line.quantity.uom),
                      "unitPrice": None if line.unit_price is None else str(line.unit_price),
                      "requestedDate": line.delivery_date.isoformat()})
    return {"buyerPoNumber": cmd.po_number, "revision": cmd.revision,
            "buyer": lookup(m.buyers, cmd.plant, SYSTEM, "buyer plant"), "currency": cmd.currency,
            "lines": lines}


def sent(answer: Json) -> Json:
    """The supplier's order id for the PO revision."""
    return {"order": answer["orderId"], "revision": answer["revision"], "status": answer["status"],
            "duplicate": bool(answer.get("duplicate"))}


def message_of(body: Any) -> str:
    """The portal's error as "ERROR: detail"."""
    if isinstance(body, dict) and "error" in body:
        return f"{body.get('error')}: {body.get('detail')}"
    return str(body)[:500]
