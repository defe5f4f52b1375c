"""HTTP endpoints of the MES simulator."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from plantwire.simulators.common import JsonBody, OptionalBody
from plantwire.simulators.mes import Json, Mes, mes_error


def routes(mes: Mes) -> APIRouter:
    """Business API under /api/v1 and the driver under /admin."""
    router = APIRouter()
    store = mes.store

    @router.post("/api/v1/work-orders")
    async def download(body: JsonBody) -> JSONResponse:
        with store.tx():
            status, result = mes.download(body)
        return JSONResponse(result, status_code=status)

    @router.get("/api/v1/work-orders")
    async def list_work_orders(erpOrderNumber: str | None = None, status: str | None = None) -> Json:  # noqa: N803
        rows = store.rows(
            "SELECT wo_id FROM work_orders WHERE (? IS NULL OR erp_order = ?) AND "
            "(? IS NULL OR status = ?) ORDER BY created",
            (erpOrderNumber, erpOrderNumber, status, status),
        )
        return {"workOrders": [mes.work_order(r["wo_id"]) for r in rows]}

    @router.get("/api/v1/work-orders/{ref}")
    async def get_work_order(ref: str) -> Json:
        return mes.work_order(ref)

    @router.get("/api/v1/work-orders/{ref}/messages")
    async def messages(ref: str) -> Json:
        wo_id = mes.work_order(ref)["woId"]
        rows = store.rows(
            "SELECT kind, body FROM messages WHERE wo_id = ? ORDER BY created, msg_id", (wo_id,)
        )
        return {
            "consumptions": [orjson.loads(r["body"]) for r in rows if r["kind"] == "consumption"],
            "productionReports": [orjson.loads(r["body"]) for r in rows if r["kind"] == "report"],
        }

    @router.post("/api/v1/work-orders/{ref}/cancel")
    async def cancel(ref: str) -> Json:
        with store.tx():
            wo = mes.work_order(ref)
            if wo["status"] == "COMPLETED":
                raise mes_error(409, "WO_CLOSED", f"work order {wo['woId']} is COMPLETED")
            if wo["status"] != "CANCELLED":
                mes.set_status(wo["woId"], "CANCELLED", "WorkOrderCancelled")
            return mes.work_order(wo["woId"])

    @router.post("/admin/work-orders/{ref}/run")
    async def run(ref: str, body: OptionalBody) -> Json:
        with store.tx():
            return mes.run(ref, body)

    return router


def counts(mes: Mes) -> Json:
    """Document counts for GET /admin/counts."""
    kinds = {
        r["kind"]: r["n"] for r in mes.store.rows("SELECT kind, COUNT(*) AS n FROM messages GROUP BY kind")
    }
    statuses = {
        r["status"]: r["n"]
        for r in mes.store.rows("SELECT status, COUNT(*) AS n FROM work_orders GROUP BY status")
    }
    return {
        "work_orders": {"total": sum(statuses.values()), "by_status": statuses},
        "consumptions": kinds.get("consumption", 0),
        "production_reports": kinds.get("report", 0),
    }
