"""HTTP endpoints and commands of the WMS simulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from plantwire.simulators.common import JsonBody, OptionalBody, replayable
from plantwire.simulators.wms import (
    DEFAULT_AUTO_CONFIRM_S,
    DOCK_BIN,
    LINE_BIN,
    Json,
    Wms,
    number,
    positive,
    required,
    wms_error,
)


def stage(wms: Wms, body: Json) -> tuple[int, Json]:
    """Allocate available HUs (oldest first) for each item and open tasks to the line-side bin."""
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise wms_error(400, "MISSING_FIELD", "items is required")
    order_ref, line_bin = body.get("orderRef"), str(body.get("lineBin") or LINE_BIN)
    request_id = wms.new_request("STAGING", order_ref)
    for item in items:
        sku, want, lot = required(item, "sku"), positive(item.get("qty"), "qty"), item.get("lot")
        hus = wms.store.rows(
            "SELECT * FROM hus WHERE sku = ? AND status = 'AVAILABLE' AND bin != ? AND "
            "(? IS NULL OR lot = ?) ORDER BY created, hu_id",
            (sku, line_bin, lot, lot),
        )
        have = sum((Decimal(h["qty"]) for h in hus), Decimal(0))
        if have < want:
            raise wms_error(
                409,
                "INSUFFICIENT_STOCK",
                f"{number(want)} of {sku} requested, "
                f"{number(have)} available" + (f" in lot {lot}" if lot else ""),
            )
        for hu in hus:
            if want <= 0:
                break
            take = min(want, Decimal(hu["qty"]))
            moving = hu["hu_id"]
            if take < Decimal(hu["qty"]):  # split: the picked part becomes a new HU
                wms.store.execute(
                    "UPDATE hus SET qty = ? WHERE hu_id = ?", (str(Decimal(hu["qty"]) - take), hu["hu_id"])
                )
                moving = wms.new_hu(sku, take, hu["uom"], hu["lot"], hu["bin"], "AVAILABLE")
            wms.store.execute("UPDATE hus SET status = 'RESERVED' WHERE hu_id = ?", (moving,))
            wms.new_task("STAGE", request_id, order_ref, moving, hu["bin"], line_bin)
            want -= take
    return 201, wms.request(request_id)


def putaway(wms: Wms, body: Json) -> tuple[int, Json]:
    """Finished goods at the line become a HU with a task to a storage bin."""
    sku, qty = required(body, "sku"), positive(body.get("qty"), "qty")
    from_bin = str(body.get("fromBin") or LINE_BIN)
    hu_id = wms.new_hu(
        sku, qty, str(body.get("uom") or "EA"), str(body.get("lot") or ""), from_bin, "RESERVED"
    )
    wms.sim.emit("HU_CREATED", wms.hu(hu_id), key=hu_id)
    request_id = wms.new_request("PUTAWAY", body.get("orderRef"))
    slot = wms.store.next_number("SLOT", 1)
    wms.new_task(
        "PUTAWAY",
        request_id,
        body.get("orderRef"),
        hu_id,
        from_bin,
        str(body.get("toBin") or f"02-{(slot - 1) % 20 + 1:02d}-{(slot - 1) // 20 % 5 + 1:02d}"),
    )
    return 201, wms.request(request_id)


def receive(wms: Wms, body: Json) -> tuple[int, Json]:
    """Goods receipt of an ASN or a PO: one HU per line at the dock, available at once."""
    asn, po = body.get("asnNumber"), body.get("poNumber")
    if not asn and not po:
        raise wms_error(400, "MISSING_FIELD", "asnNumber or poNumber is required")
    if asn and (seen := wms.store.row("SELECT receipt_id FROM receipts WHERE asn = ?", (asn,))):
        raise wms_error(409, "ASN_ALREADY_RECEIVED", f"ASN {asn} was received as {seen['receipt_id']}")
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise wms_error(400, "MISSING_FIELD", "lines is required")
    receipt_id = f"RCV-{wms.store.next_number('RCV', 1):06d}"
    out = []
    for n, line in enumerate(lines, start=1):
        hu_id = wms.new_hu(
            required(line, "sku"),
            positive(line.get("qty"), "qty"),
            str(line.get("uom") or "EA"),
            str(line.get("lot") or ""),
            str(body.get("dock") or DOCK_BIN),
            "AVAILABLE",
        )
        out.append({"lineNo": line.get("lineNo", n), "poLine": line.get("poLine"), **wms.hu(hu_id)})
    wms.store.execute("INSERT INTO receipts VALUES (?, ?, ?, ?)", (receipt_id, asn, po, time.time()))
    result = {"receiptId": receipt_id, "asnNumber": asn, "poNumber": po, "lines": out}
    wms.sim.emit("GOODS_RECEIVED", result, key=receipt_id)
    return 201, result


def hold(wms: Wms, body: Json, block: bool) -> tuple[int, Json]:
    """Block (quality hold) or unblock every HU of a lot (optionally one SKU)."""
    lot, sku = required(body, "lot"), body.get("sku")
    before, after = ("AVAILABLE", "HOLD") if block else ("HOLD", "AVAILABLE")
    hus = wms.store.rows(
        "SELECT hu_id FROM hus WHERE lot = ? AND (? IS NULL OR sku = ?) AND status = ?",
        (lot, sku, sku, before),
    )
    for h in hus:
        wms.store.execute("UPDATE hus SET status = ? WHERE hu_id = ?", (after, h["hu_id"]))
    result = {
        "lot": lot,
        "sku": sku,
        "status": after,
        "reason": body.get("reason"),
        "handlingUnits": [wms.hu(h["hu_id"]) for h in hus],
    }
    wms.sim.emit("INVENTORY_BLOCKED" if block else "INVENTORY_UNBLOCKED", result, key=lot)
    return 200, result


def routes(wms: Wms) -> APIRouter:  # noqa: C901 - one small closure per route
    """Business API under /api and the driver under /admin."""
    router = APIRouter()
    store = wms.store

    def command(
        scope: str, body: Json, key: str | None, run: Callable[[Wms, Json], tuple[int, Json]]
    ) -> JSONResponse:
        return replayable(*wms.sim.once(scope, key or body.get("reference"), lambda: run(wms, body)))

    @router.post("/api/staging-requests")
    async def staging(body: JsonBody, idempotency_key: str | None = Header(None)) -> JSONResponse:
        return command("staging", body, idempotency_key, stage)

    @router.post("/api/putaway-requests")
    async def putaways(body: JsonBody, idempotency_key: str | None = Header(None)) -> JSONResponse:
        return command("putaway", body, idempotency_key, putaway)

    @router.post("/api/receipts")
    async def receipts(body: JsonBody, idempotency_key: str | None = Header(None)) -> JSONResponse:
        return command("receipt", body, idempotency_key, receive)

    @router.post("/api/inventory/blocks")
    async def block(body: JsonBody, idempotency_key: str | None = Header(None)) -> JSONResponse:
        return command("block", body, idempotency_key, lambda w, b: hold(w, b, True))

    @router.post("/api/inventory/unblocks")
    async def unblock(body: JsonBody, idempotency_key: str | None = Header(None)) -> JSONResponse:
        return command("unblock", body, idempotency_key, lambda w, b: hold(w, b, False))

    @router.get("/api/stock")
    async def stock(
        sku: str | None = None, bin: str | None = None, lot: str | None = None, status: str | None = None
    ) -> Json:
        rows = store.rows(
            "SELECT hu_id FROM hus WHERE (? IS NULL OR sku = ?) AND (? IS NULL OR bin = ?) AND "
            "(? IS NULL OR lot = ?) AND (? IS NULL OR status = ?) AND status != 'CLOSED' "
            "ORDER BY hu_id",
            (sku, sku, bin, bin, lot, lot, status, status),
        )
        hus = [wms.hu(r["hu_id"]) for r in rows]
        totals: dict[tuple[str, str, str, str], Decimal] = {}
        for h in hus:
            key = (h["sku"], h["lot"], h["status"], h["uom"])
            totals[key] = totals.get(key, Decimal(0)) + Decimal(str(h["qty"]))
        return {
            "handlingUnits": hus,
            "totals": [
                {"sku": k[0], "lot": k[1], "status": k[2], "uom": k[3], "qty": number(v)}
                for k, v in sorted(totals.items())
            ],
        }

    @router.get("/api/handling-units/{hu_id}")
    async def get_hu(hu_id: str) -> Json:
        return wms.hu(hu_id)

    @router.get("/api/tasks")
    async def tasks(status: str | None = None, orderRef: str | None = None) -> Json:  # noqa: N803
        rows = store.rows(
            "SELECT task_id FROM tasks WHERE (? IS NULL OR status = ?) AND "
            "(? IS NULL OR order_ref = ?) ORDER BY task_id",
            (status, status, orderRef, orderRef),
        )
        return {"tasks": [wms.task(r["task_id"]) for r in rows]}

    @router.get("/api/tasks/{task_id}")
    async def get_task(task_id: str) -> Json:
        return wms.task(task_id)

    @router.get("/api/requests/{request_id}")
    async def get_request(request_id: str) -> Json:
        return wms.request(request_id)

    router.include_router(admin_routes(wms))
    return router


def admin_routes(wms: Wms) -> APIRouter:
    """Drivers: seed stock, confirm tasks, set the auto-confirm delay."""
    router = APIRouter(prefix="/admin")
    store = wms.store

    @router.post("/stock", status_code=201)
    async def seed(body: JsonBody) -> Json:
        with store.tx():
            hu_id = wms.new_hu(
                required(body, "sku"),
                positive(body.get("qty"), "qty"),
                str(body.get("uom") or "EA"),
                str(body.get("lot") or ""),
                str(body.get("bin") or "01-01-01"),
                "AVAILABLE",
            )
            wms.sim.emit("INVENTORY_ADJUSTED", {"reason": "initial stock", **wms.hu(hu_id)}, key=hu_id)
            return wms.hu(hu_id)

    @router.post("/tasks/{task_id}/confirm")
    async def confirm(task_id: str) -> Json:
        with store.tx():
            return wms.confirm_task(task_id)

    @router.post("/tasks/confirm-all")
    async def confirm_all(body: OptionalBody) -> Json:
        ref = body.get("orderRef")
        with store.tx():
            rows = store.rows(
                "SELECT task_id FROM tasks WHERE status = 'OPEN' AND (? IS NULL OR order_ref = ?) "
                "ORDER BY task_id",
                (ref, ref),
            )
            return {"confirmed": [wms.confirm_task(r["task_id"]) for r in rows]}

    @router.get("/settings")
    async def get_settings() -> Json:
        return {"autoConfirmSeconds": store.setting("autoConfirmSeconds", DEFAULT_AUTO_CONFIRM_S)}

    @router.put("/settings")
    async def put_settings(body: JsonBody) -> Json:
        value = body.get("autoConfirmSeconds")
        if value is not None and (not isinstance(value, int | float) or value < 0):
            raise wms_error(400, "BAD_SETTING", "autoConfirmSeconds must be a number >= 0 or null (manual)")
        store.set_setting("autoConfirmSeconds", value)
        return {"autoConfirmSeconds": value}

    return router


def counts(wms: Wms) -> dict[str, Any]:
    """Document counts for GET /admin/counts."""
    store = wms.store
    tasks = {
        f"{r['type']}:{r['status']}": r["n"]
        for r in store.rows("SELECT type, status, COUNT(*) AS n FROM tasks GROUP BY type, status")
    }
    return {
        "handling_units": store.scalar("SELECT COUNT(*) FROM hus"),
        "tasks": tasks,
        "requests": {
            r["kind"]: r["n"] for r in store.rows("SELECT kind, COUNT(*) AS n FROM requests GROUP BY kind")
        },
        "receipts": store.scalar("SELECT COUNT(*) FROM receipts"),
        "idempotency_keys": store.scalar("SELECT COUNT(*) FROM sim_idempotency"),
    }
