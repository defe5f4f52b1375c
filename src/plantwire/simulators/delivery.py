"""Pushes announced events to webhook subscribers from the durable outbox, with bounded retries.

Per subscription, due events go out one at a time in sequence order; a failed push is retried
after a backoff (so later events can overtake it, as with most real systems) until the
subscription's max_attempts, then marked failed. Injected faults decide here whether an event is
dropped (never pushed), pushed twice, or shuffled within a window. Nothing is pushed during an
injected outage; the outbox survives restarts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import httpx
import orjson

from plantwire.simulators.faults import FaultState
from plantwire.simulators.store import EventRow, Row, Store

PUSH_TIMEOUT_S = 2.0
IDLE_POLL_S = 0.1


def backoff(attempts: int) -> float:
    """Seconds to wait before retry number `attempts` (1-based): 0.1, 0.2, 0.4 ... at most 5."""
    return float(min(5.0, 0.1 * 2 ** (attempts - 1)))


class Pusher:
    """The webhook delivery loop of one simulator."""

    def __init__(
        self, system: str, store: Store, faults: FaultState, envelope: Callable[[EventRow], dict[str, Any]]
    ) -> None:
        self.system, self.store, self.faults, self.envelope = system, store, faults, envelope
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Deliver forever (cancelled at shutdown)."""
        async with httpx.AsyncClient(timeout=PUSH_TIMEOUT_S) as client:
            while True:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), IDLE_POLL_S)
                self.wake.clear()
                if not self.faults.is_down():
                    await self.push_due(client)

    async def push_due(self, client: httpx.AsyncClient) -> None:
        """One pass over the due outbox rows, subscriptions in parallel."""
        due = self.store.rows(
            "SELECT o.webhook_id, o.seq, o.attempts, w.url, w.max_attempts FROM sim_outbox o "
            "JOIN sim_webhooks w ON w.id = o.webhook_id WHERE o.status = 'pending' AND o.next_at <= ? "
            "ORDER BY o.webhook_id, o.seq LIMIT 500",
            (time.time(),),
        )
        by_hook: dict[int, list[Row]] = {}
        for row in due:
            by_hook.setdefault(int(row["webhook_id"]), []).append(row)
        await asyncio.gather(*(self._push_hook(client, rows) for rows in by_hook.values()))

    async def _push_hook(self, client: httpx.AsyncClient, rows: list[Row]) -> None:
        window = self.faults.faults.reorder_window
        if window > 1:
            rng = self.faults.hook_rng
            chunks = [rows[i : i + window] for i in range(0, len(rows), window)]
            for chunk in chunks:
                rng.shuffle(chunk)
            rows = [r for chunk in chunks for r in chunk]
        for row in rows:
            if self.faults.is_down():
                return
            await self._push_one(client, row)

    async def _push_one(self, client: httpx.AsyncClient, row: Row) -> None:
        faults, rng = self.faults.faults, self.faults.hook_rng
        key = (row["webhook_id"], row["seq"])
        drop, dup = rng.random() < faults.drop_webhook_rate, rng.random() < faults.duplicate_webhook_rate
        if row["attempts"] == 0 and drop:
            self.store.execute(
                "UPDATE sim_outbox SET status = 'dropped' WHERE webhook_id = ? AND seq = ?", key
            )
            return
        event = self.store.event(int(row["seq"]))
        if event is None:
            return
        attempt = int(row["attempts"]) + 1
        body = orjson.dumps(self.envelope(event))
        headers = {
            "content-type": "application/json",
            "x-sim-system": self.system,
            "x-sim-event-seq": str(event.seq),
            "x-sim-delivery-attempt": str(attempt),
        }
        error = await _post(client, row["url"], body, headers)
        if error is None:
            sends = 1
            if dup and await _post(client, row["url"], body, headers) is None:
                sends = 2
            self.store.execute(
                "UPDATE sim_outbox SET status = 'delivered', attempts = ?, "
                "sends = sends + ? WHERE webhook_id = ? AND seq = ?",
                (attempt, sends, *key),
            )
            return
        status = "failed" if attempt >= int(row["max_attempts"]) else "pending"
        self.store.execute(
            "UPDATE sim_outbox SET status = ?, attempts = ?, next_at = ?, last_error = ? "
            "WHERE webhook_id = ? AND seq = ?",
            (status, attempt, time.time() + backoff(attempt), error, *key),
        )


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> str | None:
    """None on a 2xx answer, else what went wrong."""
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"
