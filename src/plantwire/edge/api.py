"""The edge's HTTP API: local systems POST CloudEvents and get 202 with a status URL per event.

    POST /v1/events              structured, batch or binary mode; 202 once fsync'd in the outbox,
                                 207 when some were refused, 422/409 when none were kept,
                                 507 when the outbox is full, 503 when it cannot be written
    GET  /v1/outbox/{seq}        pending | forwarded | acknowledged (hub seq) | failed (reason)
    GET  /v1/outbox/lookup       the same, by ?source=&id=
    GET  /v1/status              what `plantwire edge status --json` prints
    GET  /metrics, /healthz
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from plantwire.edge.agent import Agent
from plantwire.edge.outbox import OutboxFull
from plantwire.edge.status import event_status, find_event, full_status
from plantwire.errors import NotFound, PermanentError, PlantwireError, RequestRejected, RetryableError
from plantwire.service.answers import error_body, request_validation_body
from plantwire.service.fastpath import read_body


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response rendered with orjson."""
    return Response(orjson.dumps(body, default=str), status_code=status, media_type="application/json",
                    headers=headers)


def error_response(exc: PlantwireError) -> Response:
    """The hub's error shape: {"error": {status, rule, path, message}}."""
    status, rule, path = 400, type(exc).__name__, "$"
    headers = None
    if isinstance(exc, RequestRejected):
        status, rule, path = exc.status, exc.rule, exc.path
    elif isinstance(exc, NotFound):
        status, rule = 404, "not-found"
    elif isinstance(exc, OutboxFull):
        status, rule, headers = 507, "outbox-full", {"Retry-After": "5"}
    elif isinstance(exc, RetryableError):
        status, rule, headers = 503, "unavailable", {"Retry-After": "1"}
    elif isinstance(exc, PermanentError):
        status = 409
    return json_response(error_body(status, rule, str(exc), path), status, headers)


def status_code(receipts: list[dict[str, Any]]) -> int:
    """202 when all are kept; 207 when some; 409 when all conflict; else 422."""
    kept = sum(r["status"] in ("accepted", "duplicate") for r in receipts)
    if kept == len(receipts):
        return 202
    if kept:
        return 207
    return 409 if all(r["status"] == "conflict" for r in receipts) else 422


def summary(receipts: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, then one receipt per event (each kept one with its status URL)."""
    count = {s: sum(r["status"] == s for r in receipts) for s in ("accepted", "duplicate", "rejected",
                                                                   "conflict")}
    return {"accepted": count["accepted"], "duplicates": count["duplicate"], "rejected": count["rejected"],
            "conflicts": count["conflict"], "results": receipts}


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or 413 once it passes `limit`."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRejected(413, "body-too-large", f"request body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PlantwireError)
    async def plantwire_error(_: Request, exc: PlantwireError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def bad_params(_: Request, exc: RequestValidationError) -> Response:
        return json_response(request_validation_body(exc.errors()), 422)


def create_edge_app(agent: Agent) -> FastAPI:
    """The ASGI app of an agent; forwarding and the status ticker run with the server."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(agent.run())
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        agent.close()

    app = FastAPI(title="plantwire edge", version="1", lifespan=lifespan)
    settings = agent.settings

    _error_handlers(app)

    @app.post("/v1/events")
    async def post_events(request: Request) -> Response:
        body = await read_limited(request, settings.max_body_bytes)
        events = read_body(agent.intake.catalog, request.headers.get("content-type"), request.headers,
                           body, settings.max_batch)
        try:
            receipts = await agent.intake.accept(events)
        except OutboxFull:
            agent.refused()
            raise
        return json_response(summary(receipts), status_code(receipts))

    @app.get("/v1/outbox/lookup")
    def lookup(source: str, id: str) -> Response:
        found = agent.read(lambda c: find_event(c, source, id))
        if found is None:
            raise NotFound(f"no event source={source!r} id={id!r} in the outbox (never sent, or pruned)")
        return json_response(found)

    @app.get("/v1/outbox/{seq}")
    def outbox_event(seq: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> Response:
        found = agent.read(lambda c: event_status(c, seq))
        if found is None:
            raise NotFound(f"no outbox entry #{seq} (never kept, or pruned after acknowledgment)")
        return json_response(found)

    @app.get("/v1/status")
    def status() -> Response:
        return json_response(agent.read(lambda c: full_status(c, agent.clock.now())))

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(agent.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "link": agent.forwarder.link.state}

    return app
