"""POST /v1/events: structured, batch or binary CloudEvents; 202 only once durably journaled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from plantwire.api.responses import error_response, json_response
from plantwire.errors import PlantwireError, RequestRejected
from plantwire.service.bodies import read_events
from plantwire.service.ingest import EventResult, Ingest

DRAIN_LIMIT = 512 * 1024 * 1024


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 once it passes `limit` (the rest is drained so the client reads the 413)."""
    declared = request.headers.get("content-length", "")
    too_big = declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit or too_big:
            too_big = True
            if size > DRAIN_LIMIT:
                break
            continue
        chunks.append(chunk)
    if too_big:
        raise RequestRejected(413, "body-too-large",
                              f"request body is {max(size, int(declared or 0))} bytes; at most {limit}")
    return b"".join(chunks)


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


def ingest_endpoint(ingest: Ingest, max_batch: int, max_body: int
                    ) -> Callable[[Request], Awaitable[Response]]:
    """The route handler, closed over the hub's ingest service."""

    async def post_events(request: Request) -> Response:
        try:
            body = await read_body(request, max_body)
            events, _batch = read_events(request.headers.get("content-type"), request.headers,
                                         body, max_batch)
            results = await ingest.submit(events)
        except PlantwireError as exc:
            return error_response(exc)
        return json_response(summary(results), status_of(results))

    return post_events
