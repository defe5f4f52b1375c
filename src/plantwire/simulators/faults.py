"""Fault injection, set at runtime through PUT /admin/faults: latency, errors, hangs, outages, and
webhook drops, duplicates and reordering. Deterministic when a seed is given.

The business API is faulted; /admin and /healthz are not (except that /healthz reports an outage).
Faults live in memory only: a restarted simulator starts healthy.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import orjson
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXEMPT = ("/admin", "/healthz", "/docs", "/openapi.json")


class Faults(BaseModel):
    """The fault settings of one simulator; PUT replaces all of them (omitted fields reset)."""

    latency_ms: int = Field(default=0, ge=0, le=600_000, description="Added to every business request.")
    error_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of requests answered 500 unprocessed."
    )
    timeout_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of requests processed, then answered only after "
        "timeout_seconds (the client has given up by then).",
    )
    timeout_seconds: float = Field(default=30.0, ge=0, le=3600)
    drop_webhook_rate: float = Field(default=0.0, ge=0, le=1, description="Share of events never pushed.")
    duplicate_webhook_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of events pushed twice."
    )
    reorder_window: int = Field(
        default=0, ge=0, le=1000, description="Shuffle pending webhooks in windows of this many events."
    )
    down_seconds: float = Field(
        default=0.0,
        ge=0,
        le=86_400,
        description="Answer 503 to everything but /admin for this long, from now.",
    )
    seed: int | None = Field(default=None, description="Seed for every random fault decision.")


class FaultState:
    """The current faults, the outage deadline and the random generators that decide."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.down_until = 0.0
        self.api_rng = random.Random()
        self.hook_rng = random.Random()

    def set(self, faults: Faults) -> None:
        """Replace the faults; an outage starts now."""
        self.faults = faults
        self.down_until = time.monotonic() + faults.down_seconds if faults.down_seconds else 0.0
        self.api_rng = random.Random(faults.seed)
        self.hook_rng = random.Random(None if faults.seed is None else faults.seed + 1)

    def down_remaining(self) -> float:
        """Seconds left of an outage (0 when up)."""
        return max(0.0, self.down_until - time.monotonic())

    def is_down(self) -> bool:
        """True during an injected outage."""
        return self.down_remaining() > 0

    def snapshot(self) -> dict[str, Any]:
        """The settings plus the outage time left, for GET /admin/faults."""
        return {**self.faults.model_dump(), "down_remaining": round(self.down_remaining(), 3)}


class FaultMiddleware:
    """ASGI middleware that applies the current faults to every non-exempt HTTP request."""

    def __init__(self, app: ASGIApp, state: FaultState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        state, faults = self.state, self.state.faults
        if state.is_down():
            retry = str(int(state.down_remaining()) + 1)
            await _answer(
                send,
                503,
                {"error": "service unavailable", "retry_after": int(retry)},
                [(b"retry-after", retry.encode())],
            )
            return
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        fail, hang = state.api_rng.random() < faults.error_rate, state.api_rng.random() < faults.timeout_rate
        if fail:
            await _answer(send, 500, {"error": "internal server error (injected)"})
            return
        if hang:
            send = _delayed(send, faults.timeout_seconds)
        await self.app(scope, receive, send)


def _delayed(send: Send, seconds: float) -> Send:
    held = False

    async def delayed_send(message: Message) -> None:
        nonlocal held
        if not held:
            held = True
            await asyncio.sleep(seconds)
        await send(message)

    return delayed_send


async def _answer(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    raw = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})
