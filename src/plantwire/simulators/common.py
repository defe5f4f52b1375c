"""What every simulator shares, in one place: state, events out, timers, faults and the admin API.

A simulator is a `Sim` (its SQLite store, fault state, webhook pusher and timer handlers) plus an
APIRouter of business endpoints in its own vocabulary. `build_app` wraps both into a FastAPI app
that also serves:

    GET    /healthz                  up (200) or in an injected outage (503)
    GET    /events?after=N&limit=M   the polling feed, monotonic `seq`
    POST   /admin/webhooks           subscribe {"url", "types"?, "max_attempts"?}
    GET    /admin/webhooks           subscriptions with delivery counts
    DELETE /admin/webhooks/{id}
    GET|PUT|DELETE /admin/faults     fault injection (see faults.py)
    GET    /admin/counts             document counts, so tests can prove nothing was doubled

Simulators are test rigs: no authentication; an Authorization header is accepted and ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from plantwire.simulators.delivery import Pusher
from plantwire.simulators.faults import FaultMiddleware, Faults, FaultState
from plantwire.simulators.store import EventRow, Store

log = logging.getLogger("plantwire.simulators")
Envelope = Callable[[EventRow], dict[str, Any]]
TimerHandler = Callable[[dict[str, Any]], object]
Counts = Callable[[], dict[str, Any]]
JsonBody = Annotated[dict[str, Any], Body()]
OptionalBody = Annotated[dict[str, Any], Body(default_factory=dict)]
TIMER_POLL_S = 0.05


class SimError(Exception):
    """A business error, answered with `status` and the simulator's own error `body`."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(orjson.dumps(body).decode())
        self.status, self.body = status, body


class Sim:
    """One simulator's shared machinery."""

    def __init__(self, system: str, data_dir: Path, schema: str, envelope: Envelope) -> None:
        self.system = system
        self.faults = FaultState()
        self.store = Store(data_dir / f"{system}.db", schema, on_emit=self._wake)
        self.pusher = Pusher(system, self.store, self.faults, envelope)
        self.envelope = envelope
        self.timers: dict[str, TimerHandler] = {}

    def _wake(self) -> None:
        self.pusher.wake.set()

    def emit(self, type_: str, data: dict[str, Any], key: str | None = None) -> int:
        """Announce an event (feed + webhooks), in the caller's transaction if there is one."""
        return self.store.emit(type_, data, key)

    def once(self, scope: str, key: str | None, make: Callable[[], tuple[int, Any]]) -> tuple[int, Any, bool]:
        """Run a command at most once per idempotency key: (status, body, replayed).

        A business error rolls everything back and is not remembered, so a retry after the cause is
        fixed (stock arrived) succeeds.
        """
        if not key:
            with self.store.tx():
                status, body = make()
            return status, body, False
        with self.store.tx():
            seen = self.store.recall(scope, key)
            if seen is not None:
                return seen[0], seen[1], True
            status, body = make()
            self.store.remember(scope, key, status, body)
        return status, body, False

    async def run_timers(self) -> None:
        """Fire due timers forever (not during an outage)."""
        while True:
            await asyncio.sleep(TIMER_POLL_S)
            if self.faults.is_down():
                continue
            for timer in self.store.due_timers():
                handler = self.timers.get(timer.kind)
                try:
                    with self.store.tx():
                        self.store.cancel_timer(timer.id)
                        if handler is not None:
                            handler(timer.payload)
                except Exception:  # a broken timer must not stop the others; it is logged and dropped
                    log.exception("%s timer %s failed and was dropped", self.system, timer.kind)
                    with self.store.tx():
                        self.store.cancel_timer(timer.id)


def build_app(sim: Sim, router: APIRouter, counts: Counts, title: str) -> FastAPI:
    """The simulator's ASGI app: business router, feed, admin API, fault middleware, background loops."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(sim.pusher.run()), asyncio.create_task(sim.run_timers())]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        sim.store.close()

    app = FastAPI(title=title, version="1", lifespan=lifespan)

    @app.exception_handler(SimError)
    async def business_error(_: Request, exc: SimError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    app.include_router(router)
    app.include_router(_shared_routes(sim, counts))
    app.add_middleware(FaultMiddleware, state=sim.faults)
    return app


class WebhookIn(BaseModel):
    """A webhook subscription request."""

    url: str = Field(min_length=8)
    types: list[str] | None = Field(None, description="Only these event types; all when omitted.")
    max_attempts: int = Field(8, ge=1, le=100)


def _shared_routes(sim: Sim, counts: Counts) -> APIRouter:  # noqa: C901 - one closure per route
    router = APIRouter()
    store = sim.store

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        if sim.faults.is_down():
            return JSONResponse({"status": "down", "system": sim.system}, status_code=503)
        return JSONResponse({"status": "ok", "system": sim.system, "head": store.head()})

    @router.get("/events")
    async def events(
        after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        types: Annotated[list[str] | None, Query(alias="type")] = None,
    ) -> dict[str, Any]:
        rows = store.events_after(after, limit, types)
        return {
            "events": [sim.envelope(r) for r in rows],
            "next_after": rows[-1].seq if rows else after,
            "head": store.head(),
        }

    @router.post("/admin/webhooks", status_code=201)
    async def subscribe(body: WebhookIn) -> dict[str, Any]:
        with store.tx():
            cur = store.execute(
                "INSERT INTO sim_webhooks (url, types, max_attempts, created) VALUES (?, ?, ?, ?)",
                (
                    body.url,
                    orjson.dumps(body.types).decode() if body.types else None,
                    body.max_attempts,
                    time.time(),
                ),
            )
        return {"id": cur.lastrowid, **body.model_dump(), "from_seq": store.head() + 1}

    @router.get("/admin/webhooks")
    async def webhooks() -> list[dict[str, Any]]:
        return [_hook_view(store, h) for h in store.rows("SELECT * FROM sim_webhooks ORDER BY id")]

    @router.delete("/admin/webhooks/{hook_id}")
    async def unsubscribe(hook_id: int) -> dict[str, Any]:
        with store.tx():
            gone = store.execute("DELETE FROM sim_webhooks WHERE id = ?", (hook_id,)).rowcount
            store.execute("DELETE FROM sim_outbox WHERE webhook_id = ?", (hook_id,))
        return {"deleted": bool(gone)}

    @router.get("/admin/faults")
    async def get_faults() -> dict[str, Any]:
        return sim.faults.snapshot()

    @router.put("/admin/faults")
    async def put_faults(body: Faults) -> dict[str, Any]:
        sim.faults.set(body)
        return sim.faults.snapshot()

    @router.delete("/admin/faults")
    async def clear_faults() -> dict[str, Any]:
        sim.faults.set(Faults())
        return sim.faults.snapshot()

    @router.get("/admin/counts")
    async def get_counts() -> dict[str, Any]:
        by_type = {
            r["type"]: r["n"]
            for r in store.rows("SELECT type, COUNT(*) AS n FROM sim_events GROUP BY type ORDER BY type")
        }
        return {
            "system": sim.system,
            "events": {"total": store.head(), "by_type": by_type},
            "webhook_deliveries": _outbox_counts(store),
            **counts(),
        }

    return router


def _outbox_counts(store: Store, hook_id: int | None = None) -> dict[str, int]:
    where, params = ("WHERE webhook_id = ?", (hook_id,)) if hook_id is not None else ("", ())
    out = {"pending": 0, "delivered": 0, "dropped": 0, "failed": 0}
    for r in store.rows(f"SELECT status, COUNT(*) AS n FROM sim_outbox {where} GROUP BY status", params):
        out[r["status"]] = r["n"]
    out["sends"] = int(store.scalar(f"SELECT COALESCE(SUM(sends), 0) FROM sim_outbox {where}", params))
    return out


def _hook_view(store: Store, hook: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": hook["id"],
        "url": hook["url"],
        "types": orjson.loads(hook["types"]) if hook["types"] else None,
        "max_attempts": hook["max_attempts"],
        "deliveries": _outbox_counts(store, hook["id"]),
    }


def replayable(status: int, body: Any, replayed: bool) -> JSONResponse:
    """A command's answer; a replay of an idempotency key says so in `Idempotent-Replayed: true`."""
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(body, status_code=200 if replayed else status, headers=headers)


def to_decimal(value: Any) -> Decimal | None:
    """A JSON number or numeric string as a Decimal; None when it is neither or not finite."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def iso_ms(ts: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds and a Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
