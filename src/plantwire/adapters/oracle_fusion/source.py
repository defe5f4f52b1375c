"""The Oracle Fusion source: GET answers of workOrders, purchaseOrders and receipts -> events -> intake.

A poller wired by bootstrap (q=LastUpdateDate>watermark, expand=all) passes each answer here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plantwire.adapters.oracle_fusion import translate as t
from plantwire.adapters.oracle_fusion.mapping import OracleMapping
from plantwire.ports import Intake

Json = dict[str, Any]
READERS: dict[str, Callable[[Any, OracleMapping], list[Json]]] = {
    "work_orders": t.work_order_events,
    "purchase_orders": t.purchase_order_events,
    "receipts": t.receipt_events,
}


class OracleSource:
    """Hands the events of Oracle REST answers to the intake."""

    def __init__(self, intake: Intake, mapping: OracleMapping | None = None) -> None:
        self.intake, self.mapping = intake, mapping or OracleMapping()

    async def receive(self, resource: str, body: Any) -> list[Json]:
        return await self.intake.accept(READERS[resource](body, self.mapping))
