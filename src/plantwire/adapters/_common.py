"""What every plant-floor source shares: the CloudEvent shape, short deterministic ids, backoff,
the quarantine of unreadable input, handing events to the intake, and the sync Sink bridge."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from plantwire.errors import InvalidEvent, Issue, PermanentError, PlantwireError, RetryableError
from plantwire.ports import Intake

log = logging.getLogger("plantwire.adapters")
T = TypeVar("T")
MAX_ID = 64
REFUSED = frozenset({"rejected", "invalid", "refused"})


def cloud_event(source: str, event_id: str, type_: str, data: dict[str, Any],
                at: datetime | None = None, plant: str | None = None) -> dict[str, Any]:
    """A structured-mode CloudEvent, the shape the intake takes."""
    event: dict[str, Any] = {"specversion": "1.0", "id": event_id, "source": source, "type": type_,
                             "datacontenttype": "application/json", "contractversion": "1"}
    if at is not None:
        event["time"] = at.isoformat()
    if plant is not None:
        event["plant"] = plant
    event["data"] = data
    return event


def fit_id(text: str, limit: int = MAX_ID) -> str:
    """`text` when it fits a business id (64 characters), else a prefix and a hash of the whole."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[: limit - 17].rstrip()}~{digest}"


def from_millis(ms: int) -> datetime:
    """A UTC datetime from milliseconds since the epoch (Sparkplug and OPC UA source times)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def backoff(attempt: int, base: float = 0.2, cap: float = 15.0, jitter: float = 0.5) -> float:
    """Seconds to wait before try `attempt` (1-based): exponential, capped, with a jitter fraction."""
    delay: float = min(cap, base * 2.0 ** max(0, attempt - 1))
    return delay * (1 - jitter * random.random())


@dataclass(frozen=True)
class Quarantined:
    """Input a source could not turn into events: where it came from, why, and the raw bytes."""

    where: str
    error: str
    issues: list[dict[str, str]]
    payload: bytes | None = None
    context: dict[str, Any] = field(default_factory=dict)


class Quarantine:
    """Keeps what a source could not map: counted, logged, handed to a callback, recent ones listed.

    Bootstrap wires `on_item` to a durable store (e.g. the hub's dead letters); the in-memory list
    keeps the most recent `keep` items for status pages and tests. Nothing is dropped unseen.
    """

    def __init__(self, on_item: Callable[[Quarantined], None] | None = None, keep: int = 1000) -> None:
        self.on_item = on_item
        self.count = 0
        self.items: deque[Quarantined] = deque(maxlen=keep)

    def add(self, where: str, error: InvalidEvent, payload: bytes | None = None,
            context: dict[str, Any] | None = None) -> Quarantined:
        """Record one unmappable input."""
        item = Quarantined(where, str(error), [i.as_dict() for i in error.issues], payload, context or {})
        self.count += 1
        self.items.append(item)
        log.warning("quarantined input from %s: %s", where, error)
        if self.on_item is not None:
            self.on_item(item)
        return item


def issues_of(error: BaseException) -> list[dict[str, str]]:
    """The issues an error carries, as report rows: an InvalidEvent's own (located), else one at `$`."""
    if isinstance(error, InvalidEvent):
        return [i.as_dict() for i in error.issues]
    rule = type(error).__name__ if isinstance(error, PlantwireError) else "internal-error"
    return [{"path": "$", "rule": rule, "message": str(error) or type(error).__name__}]


async def accept_each(intake: Intake, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Receipts for every event; a batch refused as a whole is retried one event at a time."""
    if not events:
        return []
    try:
        return list(await intake.accept(events))
    except PermanentError as error:
        if len(events) == 1:
            return [{"status": "rejected", "errors": issues_of(error)}]
        return [r for one in events for r in await accept_each(intake, [one])]


def invalid(path: str, rule: str, message: str) -> InvalidEvent:
    """An InvalidEvent with one issue."""
    return InvalidEvent([Issue(path, rule, message)])


async def hand_over(intake: Intake, events: Sequence[dict[str, Any]], quarantine: Quarantine,
                    where: str) -> list[dict[str, Any]]:
    """Give events to the intake until it has kept them; refused events go to the quarantine.

    Retryable failures are retried with backoff for as long as it takes, because the caller must not
    acknowledge its source (or move its state on) before the events are kept. A permanent refusal of
    the batch is narrowed down to the events at fault by handing them over one at a time.
    """
    if not events:
        return []
    try:
        receipts = await _accept_retrying(intake, events)
    except PermanentError:
        if len(events) == 1:
            raise
        receipts = []
        for one in events:
            receipts.extend(await hand_over_or_quarantine(intake, [one], quarantine, where))
        return receipts
    for event, receipt in zip(events, receipts, strict=False):
        if str(receipt.get("status", "")).lower() in REFUSED:
            quarantine.add(where, invalid(f"{event.get('source')}#{event.get('id')}", "refused",
                                          f"the intake refused the event: {receipt}"), context=event)
    return receipts


async def _accept_retrying(intake: Intake, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    attempt = 0
    while True:
        try:
            return await intake.accept(events)
        except RetryableError as error:
            attempt += 1
            log.warning("intake unavailable (try %d): %s", attempt, error)
            await asyncio.sleep(backoff(attempt))


async def hand_over_or_quarantine(intake: Intake, events: Sequence[dict[str, Any]],
                                  quarantine: Quarantine, where: str) -> list[dict[str, Any]]:
    """`hand_over`, with a single refused event quarantined instead of raised."""
    try:
        return await hand_over(intake, events, quarantine, where)
    except InvalidEvent as error:
        quarantine.add(where, error, context={"events": list(events)})
    except PermanentError as error:
        quarantine.add(where, invalid(where, "refused", str(error)), context={"events": list(events)})
    return []


def run_sync(make: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    """Run a coroutine to completion on its own thread and loop: the bridge from the synchronous
    Sink port to async clients, safe to call from inside or outside a running loop."""
    box: dict[str, Any] = {}

    def main() -> None:
        async def go() -> T:
            return await asyncio.wait_for(make(), timeout)

        try:
            box["value"] = asyncio.run(go())
        except BaseException as error:  # re-raised in the caller's thread
            box["error"] = error

    worker = threading.Thread(target=main, name="plantwire-sink", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
