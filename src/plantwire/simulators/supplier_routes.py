"""HTTP endpoints of the supplier simulator."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from plantwire.simulators.common import JsonBody, OptionalBody
from plantwire.simulators.supplier import DEFAULT_RULES, Json, Supplier


def routes(sup: Supplier) -> APIRouter:
    """The portal API under /api and the driver under /admin."""
    router = APIRouter()
    store = sup.store

    @router.post("/api/purchase-orders")
    async def receive(body: JsonBody) -> JSONResponse:
        with store.tx():
            status, result = sup.receive(body)
        return JSONResponse(result, status_code=status)

    @router.get("/api/purchase-orders/{po}")
    async def get_order(po: str, revision: int | None = None) -> Json:
        return sup.order(po, revision)

    @router.get("/admin/rules")
    async def get_rules() -> Json:
        return sup.rules()

    @router.put("/admin/rules")
    async def put_rules(body: JsonBody) -> Json:
        store.set_setting("rules", {k: v for k, v in body.items() if k in DEFAULT_RULES})
        return sup.rules()

    @router.post("/admin/purchase-orders/{po}/ack")
    async def ack(po: str) -> Json:
        with store.tx():
            return sup.acknowledge(po)

    @router.post("/admin/purchase-orders/{po}/ship", status_code=201)
    async def ship(po: str, body: OptionalBody) -> Json:
        with store.tx():
            return sup.ship(po, body)

    @router.post("/admin/purchase-orders/{po}/delay", status_code=201)
    async def delay(po: str, body: OptionalBody) -> Json:
        with store.tx():
            return sup.delay(po, body)

    return router


def counts(sup: Supplier) -> Json:
    """Document counts for GET /admin/counts."""
    store = sup.store
    return {
        "orders": store.scalar("SELECT COUNT(DISTINCT po) FROM orders"),
        "order_revisions": store.scalar("SELECT COUNT(*) FROM orders"),
        "acknowledgments": store.scalar("SELECT COUNT(*) FROM orders WHERE ack IS NOT NULL"),
        "asns": store.scalar("SELECT COUNT(*) FROM asns"),
        "delay_notices": store.scalar("SELECT COUNT(*) FROM delays"),
    }
