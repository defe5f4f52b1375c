"""A body limit for every operator route: a request whose body passes it is answered 413 without
the route ever running, and no more than the limit is held in memory (the body is read in chunks
and the rest is drained, not kept). POST /v1/events has its own limit (api/ingest.py)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plantwire.api.ingest import read_body, respond
from plantwire.api.responses import error_parts
from plantwire.errors import RequestRejected


class BodyLimit:
    """ASGI middleware: read the body up to `limit`, then hand it to the app as one message."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-length"), "")
        try:
            body = await read_body(receive, declared, self.limit)
        except RequestRejected as exc:
            status, answer, _ = error_parts(exc)
            await respond(send, status, answer)
            return
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if handed:
                return await receive()  # after the body: a disconnect, when it comes
            handed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
