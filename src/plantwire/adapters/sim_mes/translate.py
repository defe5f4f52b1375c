"""Pure mapping between the MES simulator's camelCase payloads and the canonical model.

Inbound: ``MaterialConsumed`` -> ``production.component.consumed``; ``ProductionReported`` ->
``production.goods.completed`` (the MES is the system of record for both; its ``messageId`` is the
event id). Work-order lifecycle events have no canonical contract yet and are dropped.
Outbound: ``mes.download_order`` -> ``POST /api/v1/work-orders``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plantwire.adapters.sim_mes.mapping import SYSTEM, MesMapping
from plantwire.adapters.simfeed import UnknownCrossReference, cloud_event, lookup, plain
from plantwire.domain.commands import DownloadProductionOrder

Json = dict[str, Any]


def translate_event(event: Json, m: MesMapping) -> list[Json]:
    """Zero or more canonical CloudEvents for one MES feed envelope."""
    kind = event.get("eventType")
    if kind == "MaterialConsumed":
        return [consumed(event, m)]
    if kind == "ProductionReported":
        return [completed(event, m)]
    return []


def _qty(value: Any, unit: str, m: MesMapping) -> Json:
    return {"value": plain(value), "uom": m.units.to_golden(unit)}


def consumed(event: Json, m: MesMapping) -> Json:
    """MaterialConsumed -> production.component.consumed."""
    msg = event["payload"]
    data: Json = {
        "order_id": msg["erpOrderNumber"], "plant": m.plant, "consumption_id": msg["messageId"],
        "item_id": m.items.to_golden(msg["partNumber"]), "quantity": _qty(msg["quantity"], msg["uom"], m),
        "storage_location": lookup(m.locations, msg["location"], SYSTEM, "location"),
        "consumed_at": msg["consumedAt"],
    }
    if msg.get("lot"):
        data["lot"] = msg["lot"]
    return cloud_event(f"mes/plant-{m.plant}", msg["messageId"], "production.component.consumed", data,
                       msg["consumedAt"], m.plant)


def completed(event: Json, m: MesMapping) -> Json:
    """ProductionReported -> production.goods.completed (into the plant's output location)."""
    msg = event["payload"]
    data: Json = {
        "order_id": msg["erpOrderNumber"], "plant": m.plant, "completion_id": msg["messageId"],
        "item_id": m.items.to_golden(msg["partNumber"]),
        "yield_quantity": _qty(msg["goodQty"], msg["uom"], m),
        "scrap_quantity": _qty(msg.get("scrapQty") or 0, msg["uom"], m),
        "storage_location": m.output_location, "completed_at": msg["reportedAt"],
        "final": bool(msg.get("final")),
    }
    if msg.get("lot"):
        data["lot"] = msg["lot"]
    return cloud_event(f"mes/plant-{m.plant}", msg["messageId"], "production.goods.completed", data,
                       msg["reportedAt"], m.plant)


def number(value: Decimal) -> int | float:
    """A quantity as the MES takes it: a JSON number, whole when it is whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def work_order(cmd: DownloadProductionOrder, m: MesMapping, revision: int = 0) -> Json:
    """The work-order download body; the ERP order number + revision is the MES's idempotency key."""
    if cmd.plant != m.plant:
        raise UnknownCrossReference(SYSTEM, "plant", cmd.plant)
    line, lineside = lookup(m.work_centers, cmd.work_center or m.default_work_center, SYSTEM, "work center")
    return {
        "erpOrderNumber": cmd.order_id, "revision": revision, "partNumber": m.items.to_system(cmd.item_id),
        "quantity": number(cmd.quantity.value), "uom": m.units.to_system(cmd.quantity.uom), "line": line,
        "bom": [{"partNumber": m.items.to_system(c.item_id), "quantity": number(c.quantity.value),
                 "uom": m.units.to_system(c.quantity.uom), "location": lineside} for c in cmd.components],
    }


def downloaded(answer: Json) -> Json:
    """The MES work order id for the download."""
    return {"work_order": answer["woId"], "revision": answer["revision"], "status": answer["status"],
            "duplicate": bool(answer.get("duplicate"))}


def message_of(body: Any) -> str:
    """The MES error as "CODE: message"."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return f"{body['error'].get('code')}: {body['error'].get('message')}"
    return str(body)[:500]
