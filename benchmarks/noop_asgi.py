"""The raw baseline of the ingest benchmark: a bare ASGI app that reads the body and answers 202.

Served by uvicorn with the hub's settings (uvloop, httptools, no access log, one process):

    uvicorn noop_asgi:app --app-dir benchmarks --loop uvloop --http httptools --no-access-log

It does the least any HTTP endpoint must do (read the whole request, answer with a small JSON body)
so the hub's single-event figure can be put next to what the same server stack does with no work.
"""

from __future__ import annotations

from typing import Any

BODY = (b'{"accepted":1,"duplicates":0,"rejected":0,"conflicts":0,"results":[{"index":0,'
        b'"status":"accepted","source":"noop","id":"noop","seq":1,"duplicate":false}]}')
START = {"type": "http.response.start", "status": 202, "headers": [
    (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]}
DONE = {"type": "http.response.body", "body": BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the request body to its end, then answer 202 with a small JSON receipt."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(START)
    await send(DONE)
