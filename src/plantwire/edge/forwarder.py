"""The forwarder: sends the outbox to the hub's batch ingest when the link is up, and settles rows.

One batch is in flight at a time, so the hub journals a key's events in the order the edge sends
them. Per-event results settle rows (accepted and duplicate are acknowledged with the hub's seq;
rejected and conflict are failed-at-hub with the reason). Connection errors, timeouts, 5xx and 429
back off exponentially (forever: nothing is dropped); 413 halves the batch; 401/403 mark the link
unauthorized and keep retrying, so fixing the key resumes forwarding.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import structlog

from plantwire.edge.metrics import EdgeMetrics
from plantwire.edge.outbox import Outbox
from plantwire.edge.settings import EdgeSettings
from plantwire.errors import StorageUnavailable
from plantwire.ports import Clock
from plantwire.service.bodies import BATCH
from plantwire.service.retry import backoff_delay

log = structlog.get_logger("plantwire.edge")
RESULT_STATUSES = frozenset({202, 207, 409, 422})


@dataclass
class Link:
    """What the agent knows about its hub link (persisted for `plantwire edge status`)."""

    state: str = "unknown"  # up | down | unauthorized | unknown
    since: float | None = None
    last_forward_at: float | None = None
    last_error: str | None = None
    failures: int = 0
    totals: dict[str, int] = field(default_factory=lambda: {"acknowledged": 0, "failed": 0})

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape stored in the outbox's meta table."""
        return {"state": self.state, "since": self.since, "last_forward_at": self.last_forward_at,
                "last_error": self.last_error, "failures": self.failures, "totals": self.totals}


def settlement(seqs: Sequence[int], results: Sequence[dict[str, Any]]
               ) -> tuple[list[tuple[int, int | None]], list[tuple[int, str]]]:
    """Per-event hub results as (seq, hub seq) acknowledged and (seq, reason) failed. Pure."""
    acked: list[tuple[int, int | None]] = []
    failed: list[tuple[int, str]] = []
    for r in results:
        index = r.get("index")
        if not isinstance(index, int) or not 0 <= index < len(seqs):
            continue
        if r.get("status") in ("accepted", "duplicate"):
            acked.append((seqs[index], r.get("seq")))
        else:
            reason = {"status": r.get("status"), "errors": r.get("errors", [])}
            failed.append((seqs[index], orjson.dumps(reason).decode()))
    return acked, failed


def batch_body(bodies: Sequence[bytes]) -> bytes:
    """A cloudevents-batch+json body from stored canonical event bodies, without re-encoding."""
    return b"[" + b",".join(bodies) + b"]"


class Forwarder:
    """The loop that drains the outbox to the hub."""

    def __init__(self, outbox: Outbox, settings: EdgeSettings, clock: Clock, metrics: EdgeMetrics,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.outbox, self.settings, self.clock, self.metrics = outbox, settings, clock, metrics
        self.link = Link()
        self.batch_size = settings.batch_size
        self._transport = transport
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self, _count: int = 0) -> None:
        """Wake the loop (new events); safe from any thread."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Forward until cancelled."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        headers = {"content-type": BATCH}
        if self.settings.hub_key:
            headers["authorization"] = f"Bearer {self.settings.hub_key}"
        async with httpx.AsyncClient(base_url=self.settings.hub_url.rstrip("/"), headers=headers,
                                     timeout=self.settings.hub_timeout, transport=self._transport) as client:
            while True:
                try:
                    outcome = await self.step(client)
                except StorageUnavailable as exc:  # the outbox itself: wait, never drop
                    log.error("edge.outbox.unavailable", error=str(exc))
                    outcome = "idle"
                if outcome == "idle":
                    self._wake.clear()
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.settings.tick)
                elif outcome == "retry":
                    delay = backoff_delay(self.settings.retry, max(1, self.link.failures), random.random())
                    await asyncio.sleep(delay)

    async def step(self, client: httpx.AsyncClient) -> str:
        """Send one batch: "sent", "idle" (nothing to send) or "retry" (back off first)."""
        batch = await asyncio.to_thread(self.outbox.next_batch, self.batch_size)
        if not batch:
            return "idle"
        seqs = [s for s, _ in batch]
        await asyncio.to_thread(self.outbox.mark_forwarded, seqs, self.clock.now())
        try:
            resp = await client.post("/v1/events", content=batch_body([b for _, b in batch]))
        except httpx.ConnectError as exc:  # never reached the hub: plainly pending again
            await asyncio.to_thread(self.outbox.unmark_forwarded, seqs)
            return self._down(f"cannot connect to the hub: {exc}")
        except httpx.TransportError as exc:
            return self._down(f"{type(exc).__name__} talking to the hub: {exc}")
        return await self._answered(seqs, resp)

    async def _answered(self, seqs: list[int], resp: httpx.Response) -> str:
        code = resp.status_code
        results = _results(resp) if code in RESULT_STATUSES else None
        if results is not None:
            acked, failed = settlement(seqs, results)
            await asyncio.to_thread(self.outbox.settle, acked, failed, self.clock.now())
            self._up(len(acked), failed)
            return "sent"
        if code in (400, 413) and len(seqs) > 1:
            self.batch_size = max(1, len(seqs) // 2)
            log.warning("edge.batch.shrunk", hub_status=code, batch_size=self.batch_size)
            return "sent"
        if code == 400:  # one event the hub cannot read at all: failed, with the hub's words
            await asyncio.to_thread(self.outbox.settle, [], [(seqs[0], resp.text[:2000])], self.clock.now())
            self._up(0, [(seqs[0], resp.text)])
            return "sent"
        state = "unauthorized" if code in (401, 403) else "down"
        return self._down(f"hub answered {code}: {resp.text[:300]}", state)

    def _up(self, acked: int, failed: list[tuple[int, str]]) -> None:
        if self.link.state != "up":
            log.info("edge.link.up", hub=self.settings.hub_url, after_failures=self.link.failures)
            self.link.state, self.link.since = "up", self.clock.now()
        self.link.failures, self.link.last_error = 0, None
        self.link.last_forward_at = self.clock.now()
        self.link.totals["acknowledged"] += acked
        self.link.totals["failed"] += len(failed)
        self.batch_size = min(self.settings.batch_size, self.batch_size * 2)
        self.metrics.settled(acked, len(failed))
        for seq, reason in failed:
            log.error("edge.event.failed_at_hub", seq=seq, reason=reason[:500])

    def _down(self, why: str, state: str = "down") -> str:
        if self.link.state != state:
            log.warning("edge.link.down", hub=self.settings.hub_url, state=state, error=why[:300])
            self.link.state, self.link.since = state, self.clock.now()
        self.link.failures += 1
        self.link.last_error = why
        self.metrics.link_failure()
        return "retry"


def _results(resp: httpx.Response) -> list[dict[str, Any]] | None:
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return None
    results = body.get("results") if isinstance(body, dict) else None
    return results if isinstance(results, list) else None
