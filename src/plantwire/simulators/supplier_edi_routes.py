"""HTTP endpoints of the supplier portal's EDI channel (see supplier_edi)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from plantwire.simulators.common import JsonBody
from plantwire.simulators.supplier import Json
from plantwire.simulators.supplier_edi import SupplierEdi, outbound

MAX_INTERCHANGE = 4 * 1024 * 1024


def edi_routes(edi: SupplierEdi) -> APIRouter:
    """The EDI mailbox under /edi and its levers under /admin/edi."""
    router = APIRouter()
    store = edi.store

    @router.post("/edi/inbound")
    async def inbound(request: Request) -> JSONResponse:
        data = await request.body()
        if len(data) > MAX_INTERCHANGE:
            return JSONResponse({"error": "TOO_LARGE", "detail": f"over {MAX_INTERCHANGE} bytes"}, 413)
        result = edi.receive(data)
        with store.tx():
            failed = edi.take_lever("failInbound")
        if failed:  # processed, then the answer is lost: the sender must resend, the resend must not double
            return JSONResponse({"error": "internal server error (injected after processing)"}, 500)
        return JSONResponse(result, status_code=202)

    @router.get("/edi/outbound")
    async def outbound_feed(
        after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Json:
        return outbound(store, after, limit)

    @router.get("/admin/edi")
    async def get_settings() -> Json:
        return edi.settings()

    @router.put("/admin/edi")
    async def put_settings(body: JsonBody) -> Json:
        return edi.set_settings(body)

    @router.get("/admin/edi/inbound")
    async def received() -> list[Json]:
        return [
            {**r, "sets": orjson.loads(r["sets"])}
            for r in store.rows("SELECT sender, control, sets, body, received FROM edi_inbound ORDER BY id")
        ]

    return router
