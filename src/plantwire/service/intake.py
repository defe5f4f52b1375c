"""The hub's Intake: source adapters hand translated events to ingest, as HTTP clients would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plantwire.service.ingest import Ingest


class HubIntake:
    """Journals events from in-process source adapters (pollers, webhook receivers, file drops).

    Durable when `accept` returns. Rejected events come back in the receipts with every issue, so
    the source can quarantine them visibly rather than block its feed on them.
    """

    def __init__(self, ingest: Ingest) -> None:
        self._ingest = ingest

    async def accept(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Validate and journal; one receipt per event."""
        return [r.as_dict() for r in await self._ingest.submit(list(events))]

    def accept_sync(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The same, for callers without an event loop."""
        return [r.as_dict() for r in self._ingest.submit_sync(list(events))]
