"""The edge's Intake: validate like the hub, keep in the outbox (fsync'd), then answer per event."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from plantwire.domain.catalog import Catalog
from plantwire.edge.outbox import Outbox, Stored
from plantwire.edge.settings import DEFAULT_RULES, PRIORITY_NAMES, PriorityRule, priority_of
from plantwire.envelope import Pending
from plantwire.errors import InvalidEvent, Issue
from plantwire.ports import Clock
from plantwire.service.validation import validate_event

STATUS_PATH = "/v1/outbox/{seq}"


def receipt(index: int, obj: Any, outcome: Pending | list[Issue], stored: Stored | None,
            priority: int | None) -> dict[str, Any]:
    """The answer for one event: the hub's result shape, plus the status URL to ask later."""
    source: Any
    event_id: Any
    if isinstance(outcome, Pending):
        source, event_id = outcome.identity
    else:
        source = obj.get("source") if isinstance(obj, dict) else None
        event_id = obj.get("id") if isinstance(obj, dict) else None
    out: dict[str, Any] = {"index": index, "status": "rejected", "source": source, "id": event_id}
    if stored is None:
        assert isinstance(outcome, list)
        out["errors"] = [i.as_dict() for i in outcome]
        return out
    out.update(status=stored.status, seq=stored.seq, status_url=STATUS_PATH.format(seq=stored.seq))
    if stored.status == "conflict":
        out["errors"] = [{"path": "$.id", "rule": "identity-conflict", "message":
                          f"source+id already in the outbox as #{stored.seq} with different content"}]
    else:
        out["duplicate"] = stored.status == "duplicate"
        out["priority"] = PRIORITY_NAMES.get(priority or 0, str(priority))
    return out


class EdgeIntake:
    """Implements the Intake port on the outbox; `accept_sync` for callers without a loop."""

    def __init__(self, outbox: Outbox, catalog: Catalog, clock: Clock,
                 rules: tuple[PriorityRule, ...] = DEFAULT_RULES,
                 on_stored: Callable[[int], None] = lambda n: None) -> None:
        self.outbox, self.catalog, self.clock, self.rules = outbox, catalog, clock, rules
        self.on_stored = on_stored

    def validate(self, objs: Sequence[Any]) -> list[Pending | list[Issue]]:
        """Each object as a Pending envelope (the hot path's stay as they are), or every issue."""
        out: list[Pending | list[Issue]] = []
        for obj in objs:
            if type(obj) is Pending:
                out.append(obj)
                continue
            try:
                out.append(validate_event(obj, self.catalog))
            except InvalidEvent as bad:
                out.append(bad.issues)
        return out

    def accept_sync(self, objs: Sequence[Any]) -> list[dict[str, Any]]:
        """Validate, store durably, and answer per event; raises OutboxFull / StorageUnavailable."""
        checked = self.validate(objs)
        good = [p for p in checked if isinstance(p, Pending)]
        prios = [priority_of(p.type, self.rules) for p in good]
        stored = iter(self.outbox.store(good, prios, self.clock.now()) if good else [])
        prio_of = iter(prios)
        out = []
        for i, (obj, c) in enumerate(zip(objs, checked, strict=True)):
            if isinstance(c, Pending):
                out.append(receipt(i, obj, c, next(stored), next(prio_of)))
            else:
                out.append(receipt(i, obj, c, None, None))
        if good:
            self.on_stored(len(good))
        return out

    async def accept(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The Intake port: returns once every valid event is fsync'd in the outbox."""
        return await asyncio.to_thread(self.accept_sync, events)
