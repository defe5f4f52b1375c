"""The OData source: reads of SAP OData collections -> canonical events -> the intake.

A poller (wired by bootstrap, with its watermark in the StateStore) passes each answer body here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plantwire.adapters.sap.mapping import SapMapping
from plantwire.adapters.sap.odata import translate as t
from plantwire.ports import Intake

Json = dict[str, Any]
READERS: dict[str, Callable[[Any, SapMapping], list[Json]]] = {
    t.CONFIRMATION_SET: t.confirmation_events,
    t.MATERIAL_DOCUMENT_SET: t.material_document_events,
    t.PRODUCTION_ORDER_SET: t.production_order_events,
}


class ODataSource:
    """Hands the events of OData answers to the intake."""

    def __init__(self, intake: Intake, mapping: SapMapping | None = None) -> None:
        self.intake, self.mapping = intake, mapping or SapMapping()

    async def receive(self, entity_set: str, body: Any) -> list[Json]:
        """Receipts for the events of one answer of `entity_set` (single entity bodies)."""
        rows = [e.obj for e in t.entities(body)]
        events = [event for row in rows for event in READERS[entity_set](row, self.mapping)]
        return await self.intake.accept(events)
