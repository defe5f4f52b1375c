"""The D365 source: header + lines documents read from F&O OData -> events -> the intake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plantwire.adapters.d365 import translate as t
from plantwire.adapters.d365.mapping import D365Mapping
from plantwire.ports import Intake

Json = dict[str, Any]
READERS: dict[str, Callable[[Any, D365Mapping], list[Json]]] = {
    "production_order": t.production_order_events,
    "purchase_order": t.purchase_order_events,
}


class D365Source:
    """Hands the events of D365 documents to the intake."""

    def __init__(self, intake: Intake, mapping: D365Mapping | None = None) -> None:
        self.intake, self.mapping = intake, mapping or D365Mapping()

    async def receive(self, kind: str, document: Any) -> list[Json]:
        return await self.intake.accept(READERS[kind](document, self.mapping))
