"""Pure mapping between the ERP simulator's SAP-shaped payloads and the canonical model.

Inbound (events): ``BUS2005.RELEASED`` -> ``production.order.released``; ``BUS2012.RELEASED`` ->
``procurement.po.approved``. Every other ERP event is deliberately dropped: material documents,
confirmations and PO confirmations are the effects of the hub's own commands (the MES, WMS and
supplier are the systems of record for consumption, completion, receipt, transfer and
acknowledgment), so translating them would echo the same business fact twice.
Outbound (commands): one function per canonical command building the BAPI-shaped request body.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from plantwire.adapters.sim_erp.mapping import ACK_ACTIONS, MOVEMENT_TYPES, SYSTEM, ErpMapping
from plantwire.adapters.simfeed import cloud_event, lookup, plain, untranslatable
from plantwire.domain.commands import (
    PostFinancialDocument,
    PostGoodsMovement,
    ReverseDocument,
    UpdatePurchaseOrderLines,
)
from plantwire.errors import BusinessRuleViolation

Json = dict[str, Any]
MAX_REF = 40  # the simulator keeps 40 characters of REF_DOC_NO (real SAP XBLNR: 16)


# -- inbound ---------------------------------------------------------------------------------------
def translate_event(event: Json, m: ErpMapping) -> list[Json]:
    """Zero or more canonical CloudEvents for one ERP feed envelope."""
    kind = f"{event.get('OBJTYPE')}.{event.get('EVENT')}"
    if kind == "BUS2005.RELEASED":
        return [order_released(event, m)]
    if kind == "BUS2012.RELEASED":
        return [po_approved(event, m)]
    return []


def sap_timestamp(stamp: str) -> str:
    """ERP TIMESTAMP (UTC, YYYYMMDDhhmmss) as ISO 8601."""
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=ZoneInfo("UTC")).isoformat()
    except (TypeError, ValueError):
        raise untranslatable("$.TIMESTAMP", f"not a SAP timestamp: {stamp!r}") from None


def _day_start(day: str, plant: str, m: ErpMapping, later: int = 0) -> str:
    zone = ZoneInfo(lookup(m.timezones, plant, SYSTEM, "plant time zone"))
    when = datetime.combine(date.fromisoformat(day) + timedelta(days=later), time(0), zone)
    return when.isoformat()


def _qty(value: Any, unit: str, m: ErpMapping) -> Json:
    return {"value": plain(value), "uom": m.units.to_golden(unit)}


def order_released(event: Json, m: ErpMapping) -> Json:
    """BUS2005.RELEASED -> production.order.released (dates are plant calendar days)."""
    order = event["DATA"]
    plant = m.plants.to_golden(order["WERKS"])
    components = [
        {"line": int(c["RSPOS"]), "item_id": m.items.to_golden(c["MATNR"]),
         "quantity": _qty(c["BDMNG"], c["MEINS"], m),
         "storage_location": m.locations.to_golden(c["LGORT"])}
        for c in order.get("COMPONENTS") or []
    ]
    data = {
        "order_id": order["AUFNR"], "plant": plant, "item_id": m.items.to_golden(order["MATNR"]),
        "quantity": _qty(order["GAMNG"], order["GMEIN"], m),
        "scheduled_start": _day_start(order["GSTRP"], plant, m),
        "scheduled_end": _day_start(order["GLTRP"], plant, m, later=1),  # end of the finish day
        "due_date": order["GLTRP"], "components": components,
    }
    return cloud_event(f"erp/plant-{plant}", f"ORD-{order['AUFNR']}/released", "production.order.released",
                       data, sap_timestamp(event["TIMESTAMP"]), plant)


def po_approved(event: Json, m: ErpMapping) -> Json:
    """BUS2012.RELEASED -> procurement.po.approved, identified by EBELN and REVISION."""
    po = event["DATA"]
    plant = m.plants.to_golden(po["WERKS"])
    at = sap_timestamp(event["TIMESTAMP"])
    lines = [
        {"line": int(i["EBELP"]), "item_id": m.items.to_golden(i["MATNR"]),
         "quantity": _qty(i["MENGE"], i["MEINS"], m), "unit_price": plain(i["NETPR"]),
         "delivery_date": i["EINDT"], "storage_location": m.locations.to_golden(i["LGORT"])}
        for i in po.get("ITEMS") or []
    ]
    data = {"po_number": po["EBELN"], "revision": int(po["REVISION"]), "plant": plant,
            "supplier_id": m.suppliers.to_golden(po["LIFNR"]), "currency": po["WAERS"],
            "lines": lines, "approved_at": at}
    return cloud_event(f"erp/plant-{plant}", f"PO-{po['EBELN']}/rev-{po['REVISION']}",
                       "procurement.po.approved", data, at, plant)


# -- outbound --------------------------------------------------------------------------------------
def reference(idempotency_key: str) -> str:
    """REF_DOC_NO for a key: the key itself when it fits 40 characters, else a deterministic hash."""
    if len(idempotency_key) <= MAX_REF:
        return idempotency_key
    return "PW-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[: MAX_REF - 3]


def goods_movement(cmd: PostGoodsMovement, ref: str, m: ErpMapping) -> Json:
    """BAPI_GOODSMVT_CREATE body: one item, the idempotency reference in the header."""
    item: Json = {
        "BWART": MOVEMENT_TYPES[cmd.movement.value], "MATNR": m.items.to_system(cmd.item_id),
        "WERKS": m.plants.to_system(cmd.plant), "LGORT": m.locations.to_system(cmd.storage_location),
        "CHARG": cmd.lot or "", "ERFMG": str(cmd.quantity.value),
        "ERFME": m.units.to_system(cmd.quantity.uom),
    }
    if cmd.order_id is not None:
        item["AUFNR"] = cmd.order_id
    if cmd.po_number is not None:
        item["EBELN"], item["EBELP"] = cmd.po_number, cmd.po_line
    if cmd.to_location is not None:
        item["UMLGO"] = m.locations.to_system(cmd.to_location)
    header: Json = {"REF_DOC_NO": ref}
    if cmd.text:
        header["HEADER_TXT"] = cmd.text
    return {"GOODSMVT_HEADER": header, "ITEMS": [item]}


def posted(answer: Json) -> Json:
    """What a goods movement or reversal answered: the material document number and year."""
    doc = answer.get("DOCUMENT") or answer
    return {"document": doc["MBLNR"], "year": doc["MJAHR"], "existing": bool(answer.get("EXISTING", True)),
            "reference": doc.get("REF_DOC_NO"), "reversal_of": doc.get("REVERSAL_OF")}


def document_key(document: str) -> tuple[str, str | None]:
    """("4900000007", "2026") from "4900000007/2026"; the year is optional."""
    number, _, year = document.partition("/")
    return number, (year or None)


def reversal(cmd: ReverseDocument, ref: str) -> tuple[str, Json]:
    """The document to reverse and the reversal body."""
    number, year = document_key(cmd.document)
    body: Json = {"REF_DOC_NO": ref}
    if year:
        body["MJAHR"] = year
    return number, body


def accounting(cmd: PostFinancialDocument, ref: str) -> Json:
    """The accounting-document body for a goods receipt's material document."""
    number, year = document_key(cmd.receipt_document)
    body: Json = {"MBLNR": number, "REF_DOC_NO": ref}
    if year:
        body["MJAHR"] = year
    return body


def check_receipt(document: Json, cmd: PostFinancialDocument, m: ErpMapping) -> None:
    """Refuse a financial posting whose material document is not a receipt for this PO and plant."""
    werks = m.plants.to_system(cmd.plant)
    for item in document.get("ITEMS") or []:
        if item.get("BWART") == "101" and item.get("EBELN") == cmd.po_number and item.get("WERKS") == werks:
            return
    raise BusinessRuleViolation(
        f"erp material document {document.get('MBLNR')} is not a goods receipt for PO {cmd.po_number} "
        f"in plant {cmd.plant}; no financial document posted")


def accounting_posted(answer: Json) -> Json:
    """The accounting document number, year and amount the ERP computed."""
    return {"document": answer["BELNR"], "year": answer["GJAHR"], "amount": answer["WRBTR"],
            "currency": answer["WAERS"], "receipt_document": answer["MBLNR"],
            "existing": bool(answer.get("EXISTING"))}


def po_confirmation(cmd: UpdatePurchaseOrderLines, ref: str, m: ErpMapping) -> Json:
    """The PO confirmation body: one ACCEPT / CHANGE / REJECT per line, the key as REF."""
    items = []
    for line in cmd.lines:
        item: Json = {"EBELP": line.line, "ACTION": ACK_ACTIONS[line.status.value]}
        if line.quantity is not None:
            m.units.to_system(line.quantity.uom)
            item["MENGE"] = str(line.quantity.value)
        if line.delivery_date is not None:
            item["EINDT"] = line.delivery_date.isoformat()
        items.append(item)
    return {"REF": ref, "ITEMS": items}


def po_updated(answer: Json) -> Json:
    """The ERP's PO revision after the change."""
    return {"po_number": answer["EBELN"], "revision": answer["REVISION"]}


def message_of(body: Any) -> str:
    """The BAPI RETURN messages as one line, e.g. "M7 021 Deficit of SL Unrestricted-use ..."."""
    if isinstance(body, dict) and isinstance(body.get("RETURN"), list):
        return "; ".join(f"{r.get('ID')} {r.get('NUMBER')} {r.get('MESSAGE')}" for r in body["RETURN"])
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return str(body)[:500]
