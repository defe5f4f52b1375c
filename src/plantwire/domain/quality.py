"""Quality event contracts: holds placed on stock and their release with a disposition."""

from __future__ import annotations

from enum import StrEnum

from plantwire.domain.events import BusinessTime, EventData, ReasonCode, Text
from plantwire.domain.master import Identifier
from plantwire.domain.quantities import PositiveQuantity

__all__ = ["Disposition", "QualityHoldPlaced", "QualityHoldReleased"]


class QualityHoldPlaced(EventData):
    """Stock was put on quality hold (data of quality.hold.placed v1)."""

    hold_id: Identifier
    plant: Identifier
    item_id: Identifier
    lot: Identifier | None = None
    quantity: PositiveQuantity | None = None
    storage_location: Identifier | None = None
    reason_code: ReasonCode
    reason: Text
    placed_at: BusinessTime


class Disposition(StrEnum):
    """What happens to held stock when the hold ends."""

    RELEASE = "release"
    SCRAP = "scrap"
    REWORK = "rework"
    RETURN_TO_SUPPLIER = "return_to_supplier"


class QualityHoldReleased(EventData):
    """A quality hold ended with a disposition (data of quality.hold.released v1)."""

    hold_id: Identifier
    plant: Identifier
    released_at: BusinessTime
    disposition: Disposition
    quantity: PositiveQuantity | None = None
    note: Text | None = None
