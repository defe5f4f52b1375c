"""Inventory event contracts: stock transfers between storage locations."""

from __future__ import annotations

from pydantic import model_validator

from plantwire.domain.events import BusinessTime, EventData, ReasonCode
from plantwire.domain.master import Identifier
from plantwire.domain.quantities import PositiveQuantity

__all__ = ["InventoryTransferred"]


class InventoryTransferred(EventData):
    """Stock moved from one storage location to another (data of inventory.transferred v1)."""

    transfer_id: Identifier
    plant: Identifier
    item_id: Identifier
    quantity: PositiveQuantity
    lot: Identifier | None = None
    from_location: Identifier
    to_location: Identifier
    transferred_at: BusinessTime
    reason: ReasonCode | None = None

    @model_validator(mode="after")
    def _locations_differ(self) -> InventoryTransferred:
        if self.from_location == self.to_location:
            raise ValueError("from_location and to_location must differ")
        return self
