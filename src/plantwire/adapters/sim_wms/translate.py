"""Pure mapping between the WMS simulator's payloads and the canonical model.

Inbound: ``GOODS_RECEIVED`` -> ``procurement.goods.received`` (the WMS is the system of record for
physical receipts); ``TASK_CONFIRMED`` -> ``inventory.transferred`` when the task moved stock between
two golden storage locations (staging: raw materials -> line side). Blocks are the effect of the
hub's own quality-hold commands and adjustments have no contract yet: both are dropped.
Outbound: one function per ``wms.*`` command.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from plantwire.adapters.sim_wms.mapping import SYSTEM, WmsMapping
from plantwire.adapters.simfeed import (
    UnknownCrossReference,
    cloud_event,
    lookup,
    plain,
    untranslatable,
)
from plantwire.domain.commands import BlockLot, CreatePutaway, RequestStaging, UnblockLot
from plantwire.errors import BusinessRuleViolation

Json = dict[str, Any]


def translate_event(event: Json, m: WmsMapping) -> list[Json]:
    """Zero or more canonical CloudEvents for one WMS feed envelope."""
    kind = event.get("event")
    if kind == "GOODS_RECEIVED":
        return [goods_received(event, m)]
    if kind == "TASK_CONFIRMED":
        return transferred(event, m)
    return []


def millis(ts: Any) -> str:
    """WMS `ts` (epoch milliseconds) as ISO 8601 UTC."""
    return datetime.fromtimestamp(int(ts) / 1000, tz=UTC).isoformat(timespec="milliseconds")


def location(bin_: str, m: WmsMapping, table: dict[str, str] | None = None) -> str:
    """The golden storage location a bin belongs to, by its aisle."""
    return lookup(table or m.bin_aisles, bin_.split("-")[0], SYSTEM, "bin aisle")


def _qty(value: Any, unit: str, m: WmsMapping) -> Json:
    return {"value": plain(value), "uom": m.units.to_golden(unit)}


def _receipt_line(line: Json, m: WmsMapping) -> Json:
    if line.get("poLine") is None:
        raise untranslatable("$.body.lines[].poLine", f"receipt line {line.get('lineNo')} names no PO line")
    out: Json = {"line": int(line["lineNo"]), "po_line": int(line["poLine"]),
                 "item_id": m.items.to_golden(line["sku"]), "quantity": _qty(line["qty"], line["uom"], m),
                 "storage_location": location(line["bin"], m)}
    if line.get("lot"):
        out["lot"] = line["lot"]
    return out


def goods_received(event: Json, m: WmsMapping) -> Json:
    """GOODS_RECEIVED -> procurement.goods.received, identified by the receipt id."""
    receipt, plant = event["body"], lookup(m.warehouses, event["warehouse"], SYSTEM, "warehouse")
    if not receipt.get("poNumber"):
        raise untranslatable("$.body.poNumber", f"receipt {receipt.get('receiptId')} names no PO")
    at = millis(event["ts"])
    data: Json = {"receipt_id": receipt["receiptId"], "po_number": receipt["poNumber"], "plant": plant,
                  "lines": [_receipt_line(line, m) for line in receipt["lines"]], "received_at": at}
    if receipt.get("asnNumber"):
        data["asn_id"] = receipt["asnNumber"]
    return cloud_event(f"wms/plant-{plant}", receipt["receiptId"], "procurement.goods.received", data,
                       at, plant)


def transferred(event: Json, m: WmsMapping) -> list[Json]:
    """A confirmed task -> inventory.transferred, or nothing when it stayed in one golden location."""
    task, plant = event["body"], lookup(m.warehouses, event["warehouse"], SYSTEM, "warehouse")
    from_table = m.putaway_from_aisles if task.get("type") == "PUTAWAY" else None
    try:
        source = location(task["fromBin"], m, from_table)
    except UnknownCrossReference:
        source = location(task["fromBin"], m)
    target = location(task["toBin"], m)
    if source == target:
        return []
    at = millis(event["ts"])
    data: Json = {"transfer_id": task["taskId"], "plant": plant, "item_id": m.items.to_golden(task["sku"]),
                  "quantity": _qty(task["qty"], task["uom"], m), "from_location": source,
                  "to_location": target, "transferred_at": at, "reason": str(task.get("type") or "MOVE")}
    if task.get("lot"):
        data["lot"] = task["lot"]
    return [cloud_event(f"wms/plant-{plant}", task["taskId"], "inventory.transferred", data, at, plant)]


# -- outbound --------------------------------------------------------------------------------------
def number(value: Decimal) -> int | float:
    """A quantity as the WMS takes it: a JSON number, whole when it is whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def _check_plant(plant: str, m: WmsMapping) -> None:
    if lookup(m.warehouses, m.warehouse, SYSTEM, "warehouse") != plant:
        raise UnknownCrossReference(SYSTEM, "plant", plant)


def staging(cmd: RequestStaging, m: WmsMapping) -> Json:
    """A staging request: every component to the work center's line-side bin."""
    _check_plant(cmd.plant, m)
    line_bin = lookup(m.line_bins, cmd.work_center or m.default_work_center, SYSTEM, "work center")
    items = []
    for line in cmd.lines:
        m.units.to_system(line.quantity.uom)
        items.append({"sku": m.items.to_system(line.item_id), "qty": number(line.quantity.value)})
    return {"orderRef": cmd.order_id, "lineBin": line_bin, "items": items}


def putaway(cmd: CreatePutaway, m: WmsMapping) -> Json:
    """A put-away request for finished goods waiting at the line end."""
    _check_plant(cmd.plant, m)
    return {"sku": m.items.to_system(cmd.item_id), "qty": number(cmd.quantity.value),
            "uom": m.units.to_system(cmd.quantity.uom), "lot": cmd.lot or "", "orderRef": cmd.order_id,
            "fromBin": lookup(m.output_bins, cmd.from_location, SYSTEM, "output location")}


def hold(cmd: BlockLot | UnblockLot, m: WmsMapping) -> Json:
    """A block or unblock of one lot of one SKU (the WMS holds stock per lot)."""
    _check_plant(cmd.plant, m)
    if not cmd.lot:
        raise BusinessRuleViolation(f"wms blocks stock per lot; hold {cmd.hold_id} names no lot")
    body: Json = {"lot": cmd.lot, "sku": m.items.to_system(cmd.item_id)}
    if isinstance(cmd, BlockLot) and cmd.reason:
        body["reason"] = cmd.reason
    return body


def request_done(answer: Json) -> Json:
    """A staging or put-away request's id and its tasks."""
    tasks = answer.get("tasks") or []
    return {"request": answer["requestId"], "status": answer["status"],
            "tasks": [t["taskId"] for t in tasks], "handling_units": [t["huId"] for t in tasks]}


def hold_done(answer: Json) -> Json:
    """The lot's new status and the handling units it changed."""
    return {"lot": answer["lot"], "status": answer["status"],
            "handling_units": [h["huId"] for h in answer.get("handlingUnits") or []]}


def message_of(body: Any) -> str:
    """The WMS error as "CODE: message"."""
    if isinstance(body, dict) and "code" in body:
        return f"{body.get('code')}: {body.get('message')}"
    return str(body)[:500]
