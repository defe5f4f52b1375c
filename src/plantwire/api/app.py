"""The FastAPI application: ingest plus the operator endpoints, built around one hub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from plantwire.api.auth import BearerAuth
from plantwire.api.bodies import Note, Reason, ReplayRequest
from plantwire.api.ingest import IngestEndpoint
from plantwire.api.limits import BodyLimit
from plantwire.api.mapping_routes import add_mapping_routes
from plantwire.api.metrics import metrics_endpoint
from plantwire.api.responses import error_response, json_response
from plantwire.bootstrap import Hub
from plantwire.errors import PlantwireError, RequestRejected
from plantwire.projections.atp import atp_view
from plantwire.projections.inventory import on_hand
from plantwire.service.answers import error_body, request_validation_body
from plantwire.service.queries import entry_dict

log = structlog.get_logger("plantwire.api")
MAX_SEQ = 2**63 - 1  # the largest SQLite INTEGER: a bigger 'after' must be a 422, not a 500


def create_app(hub: Hub, run_worker: bool = True, run_sources: bool = True) -> FastAPI:
    """The ASGI app for a hub; starts and stops its delivery worker and system feeds with the server
    (unless a separate worker process does that)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(source.run(stop), name=source.name)
                 for source in (hub.sources if run_sources else [])]
        if run_worker:
            hub.worker.start()
        yield
        stop.set()
        await asyncio.wait(tasks, timeout=5) if tasks else None
        hub.close()

    app = HubApp(title="plantwire", version="1", lifespan=lifespan,
                 description="Durable business-event hub for manufacturing integration.")
    app.fast_ingest = BearerAuth(IngestEndpoint(hub.ingest, hub.settings.max_batch,
                                                hub.settings.max_body_bytes), verify=hub.keys.verify)
    app.add_api_route("/metrics", metrics_endpoint(hub), methods=["GET"],
                      include_in_schema=False)
    _errors(app)
    _operator_routes(app, hub)
    add_mapping_routes(app, hub)
    app.add_middleware(BodyLimit, limit=hub.settings.max_operator_body_bytes)
    app.add_middleware(BearerAuth, verify=hub.keys.verify)
    return app


class HubApp(FastAPI):
    """FastAPI, except that POST /v1/events (the hot path) is plain ASGI (api/ingest.py) and skips
    Starlette's middleware stack, routing and exception wrappers, which cost about as much CPU per
    request as validating the event (benchmarks/ingest.py). It passes the same BearerAuth."""

    fast_ingest: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.fast_ingest is not None and scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"] == "/v1/events"):
            await self.fast_ingest(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(PlantwireError)
    async def plantwire_error(_: Request, exc: PlantwireError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def bad_params(_: Request, exc: RequestValidationError) -> Response:
        return json_response(request_validation_body(exc.errors()), 422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", error=str(exc))
        return json_response(error_body(500, "internal", "internal error; see the hub's log"), 500)


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise RequestRejected(422, "iso-datetime", f"'since' must be an ISO 8601 time, got {value!r}",
                              "$.since") from None


def _operator_routes(app: FastAPI, hub: Hub) -> None:  # noqa: C901 - one small closure per route
    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "journal_head": hub.journal.head()}

    @app.get("/v1/events")
    def tail(after: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 20,
             type: Annotated[list[str] | None, Query()] = None) -> Response:
        entries = hub.queries.tail(after, limit, type)
        return json_response({"events": [entry_dict(e) for e in entries]})

    @app.get("/v1/events/lookup")
    def show(source: str, id: str) -> Response:
        return json_response(hub.queries.show(source, id))

    @app.get("/v1/status")
    def status() -> Response:
        return json_response(hub.queries.status())

    @app.get("/v1/dead-letters")
    def dlq_list(status: str | None = "open", subscriber: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Response:
        wanted = None if status == "all" else status
        return json_response({"dead_letters": hub.dead_letters.list(wanted, subscriber, limit)})

    @app.get("/v1/dead-letters/{dlq_id}")
    def dlq_show(dlq_id: int) -> Response:
        return json_response(hub.dead_letters.show(dlq_id))

    @app.post("/v1/dead-letters/{dlq_id}/retry")
    def dlq_retry(dlq_id: int) -> Response:
        letter = hub.dead_letters.retry(dlq_id)
        hub.worker.notify()
        return json_response(letter)

    @app.post("/v1/dead-letters/{dlq_id}/discard")
    def dlq_discard(dlq_id: int, body: Reason) -> Response:
        letter = hub.dead_letters.discard(dlq_id, body.reason)
        hub.worker.notify()
        return json_response(letter)

    @app.post("/v1/replay")
    def replay(body: ReplayRequest) -> Response:
        report = hub.replayer.replay(body.subscriber, body.types, _since(body.since), body.dry_run)
        return json_response(report.as_dict())

    @app.get("/v1/sources")
    def sources() -> Response:
        return json_response({"sources": [
            {"name": src.name, "system": src.system, "url": src.base_url, "watermark": src.watermark(),
             "quarantined": src.quarantined()[-100:]} for src in hub.sources]})

    @app.get("/v1/exceptions")
    def exceptions_list(status: str | None = "open", kind: str | None = None,
                        plant: str | None = None) -> Response:
        wanted = None if status == "all" else status
        return json_response({"exceptions": hub.exceptions.list(wanted, kind, plant)})

    @app.get("/v1/exceptions/{ex_id}")
    def exceptions_show(ex_id: int) -> Response:
        return json_response(hub.exceptions.show(ex_id))

    @app.post("/v1/exceptions/{ex_id}/retry")
    def exceptions_retry(ex_id: int) -> Response:
        found = hub.exceptions.retry(ex_id)
        hub.worker.notify()
        return json_response(found)

    @app.post("/v1/exceptions/{ex_id}/resolve")
    def exceptions_resolve(ex_id: int, body: Note) -> Response:
        return json_response(hub.exceptions.resolve(ex_id, body.note))

    @app.get("/v1/inventory")
    def inventory(item: str | None = None, location: str | None = None) -> Response:
        with hub.state.transaction() as tx:
            rows = atp_view(tx, item, location)
            balances = on_hand(tx)
        if item or location:
            balances = {k: v for k, v in balances.items()
                        if (item is None or k.split("|")[1] == item)
                        and (location is None or k.split("|")[2] == location)}
        return json_response({"atp": rows, "on_hand": {k: str(v) for k, v in balances.items()}})
