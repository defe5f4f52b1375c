"""POST /v1/events: structured, batch or binary CloudEvents; 202 only once durably journaled.

Plain ASGI, not a Starlette route: this is the hot path, and Starlette's request, header and
response objects cost about as much CPU per request as validating the event
(benchmarks/ingest.py). It answers exactly as the rest of the API does (responses.py).
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from starlette.types import Receive, Scope, Send

from plantwire.api.responses import error_parts
from plantwire.errors import PlantwireError, RequestRejected
from plantwire.service.answers import error_body
from plantwire.service.ingest import EventResult, Ingest

log = structlog.get_logger("plantwire.api")
DRAIN_LIMIT = 512 * 1024 * 1024
JSON_HEADERS = [(b"content-type", b"application/json")]


async def read_body(receive: Receive, declared: str, limit: int) -> bytes:
    """The body, or 413 once it passes `limit` (the rest is drained so the client reads the 413)."""
    too_big = declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            raise RequestRejected(400, "incomplete-body", "the client disconnected before the body ended")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit or too_big:
            too_big = True
            if size > DRAIN_LIMIT:
                break
        elif chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if too_big:
        raise RequestRejected(413, "body-too-large",
                              f"request body is {max(size, int(declared or 0))} bytes; at most {limit}")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def status_of(results: list[EventResult]) -> int:
    """202 when all are journaled; 422/409 when none are; 207 when some are."""
    ok = sum(r.ok for r in results)
    if ok == len(results):
        return 202
    if ok:
        return 207
    return 409 if all(r.status == "conflict" for r in results) else 422


def summary(results: list[EventResult]) -> dict[str, object]:
    """The receipt body: counts, then one result per event."""
    counts = {"accepted": 0, "duplicate": 0, "held": 0, "rejected": 0, "conflict": 0}
    for r in results:
        counts[r.status] += 1
    return {"accepted": counts["accepted"], "duplicates": counts["duplicate"], "held": counts["held"],
            "rejected": counts["rejected"], "conflicts": counts["conflict"],
            "results": [r.as_dict() for r in results]}


async def respond(send: Send, status: int, body: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """A JSON answer, rendered with orjson."""
    raw = orjson.dumps(body, default=str)
    await send({"type": "http.response.start", "status": status,
                "headers": [*JSON_HEADERS, (b"content-length", str(len(raw)).encode()), *(extra or ())]})
    await send({"type": "http.response.body", "body": raw})


class IngestEndpoint:
    """The ASGI app behind POST /v1/events, over the hub's ingest service."""

    def __init__(self, ingest: Ingest, max_batch: int, max_body: int) -> None:
        self.ingest, self.max_batch, self.max_body = ingest, max_batch, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await read_body(receive, headers.get("content-length", ""), self.max_body)
            events = self.ingest.read(headers.get("content-type"), headers, body, self.max_batch)
            results = await self.ingest.submit(events)
        except PlantwireError as exc:
            status, answer, extra = error_parts(exc)
            await respond(send, status, answer, [(k.lower().encode(), v.encode()) for k, v in extra.items()])
            return
        except Exception as exc:
            log.exception("unhandled error", error=str(exc))
            await respond(send, 500, error_body(500, "internal", "internal error; see the hub's log"))
            return
        await respond(send, status_of(results), summary(results))
