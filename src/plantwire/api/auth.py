"""Bearer API keys on every path but /healthz, as plain ASGI middleware (it is on the hot path)."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from plantwire.service.answers import error_body

OPEN_PATHS = frozenset({"/healthz"})


class BearerAuth:
    """Rejects requests without a live API key with 401 before they reach a route."""

    def __init__(self, app: ASGIApp, verify: Callable[[str], str | None]) -> None:
        self.app, self.verify = app, verify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and rest.strip():
                    token = rest.strip()
                break
        who = self.verify(token) if token else None
        if who is None:
            await self._deny(send, "missing API key" if token is None else "unknown or revoked API key")
            return
        scope.setdefault("state", {})["api_key"] = who
        await self.app(scope, receive, send)

    @staticmethod
    async def _deny(send: Send, why: str) -> None:
        body = orjson.dumps(error_body(401, "unauthorized", f"{why}: send 'Authorization: Bearer "
                                       "<key>' (create one with `plantwire keys create NAME`)"))
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b'Bearer realm="plantwire"')]})
        await send({"type": "http.response.body", "body": body})
