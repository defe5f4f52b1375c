"""Procurement event contracts: PO approval, supplier acknowledgment, delays, goods receipt."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from plantwire.domain.events import (
    BusinessTime,
    CurrencyCode,
    EventData,
    ReasonCode,
    Revision,
    Text,
    unique_lines,
)
from plantwire.domain.master import Identifier, LineNumber, duplicates
from plantwire.domain.quantities import (
    CanonicalModel,
    NonNegativeAmount,
    NonNegativeQuantity,
    PositiveQuantity,
)

__all__ = [
    "AckStatus",
    "AcknowledgedLine",
    "GoodsReceived",
    "PurchaseOrderApproved",
    "PurchaseOrderLine",
    "ReceiptLine",
    "ShipmentDelayed",
    "SupplierAcknowledged",
]


class PurchaseOrderLine(CanonicalModel):
    """One line of a purchase order."""

    line: LineNumber
    item_id: Identifier
    quantity: PositiveQuantity
    unit_price: NonNegativeAmount | None = None
    delivery_date: date
    storage_location: Identifier | None = None


class PurchaseOrderApproved(EventData):
    """A purchase order (revision) was approved for sending (data of procurement.po.approved v1)."""

    po_number: Identifier
    revision: Revision
    plant: Identifier
    supplier_id: Identifier
    currency: CurrencyCode
    lines: Annotated[list[PurchaseOrderLine], Field(min_length=1)]
    approved_at: BusinessTime

    @field_validator("lines")
    @classmethod
    def _unique_lines(cls, lines: list[PurchaseOrderLine]) -> list[PurchaseOrderLine]:
        unique_lines(lines)
        return lines


class AckStatus(StrEnum):
    """The supplier's answer to one PO line."""

    ACCEPTED = "accepted"
    CHANGED = "changed"
    REJECTED = "rejected"


class AcknowledgedLine(CanonicalModel):
    """The supplier's answer to one PO line; a changed line says what changed."""

    line: LineNumber
    status: AckStatus
    quantity: NonNegativeQuantity | None = None
    delivery_date: date | None = None
    reason: Text | None = None

    @model_validator(mode="after")
    def _changed_says_what(self) -> AcknowledgedLine:
        unchanged = self.quantity is None and self.delivery_date is None
        if self.status is AckStatus.CHANGED and unchanged:
            raise ValueError("a changed line must carry a changed quantity or delivery_date")
        return self


class SupplierAcknowledged(EventData):
    """A supplier answered a PO revision (data of procurement.supplier.acknowledged v1)."""

    po_number: Identifier
    revision: Revision
    supplier_id: Identifier
    ack_id: Identifier
    acknowledged_at: BusinessTime
    lines: Annotated[list[AcknowledgedLine], Field(min_length=1)]

    @field_validator("lines")
    @classmethod
    def _unique_lines(cls, lines: list[AcknowledgedLine]) -> list[AcknowledgedLine]:
        unique_lines(lines)
        return lines


class ShipmentDelayed(EventData):
    """A supplier moved a delivery later (data of procurement.shipment.delayed v1)."""

    po_number: Identifier
    supplier_id: Identifier
    asn_id: Identifier | None = None
    lines: list[LineNumber] | None = Field(
        default=None, description="The PO lines delayed; omitted when the whole PO is."
    )
    original_date: date
    new_date: date
    reason_code: ReasonCode | None = None
    reason: Text

    @field_validator("lines")
    @classmethod
    def _unique_lines(cls, lines: list[int] | None) -> list[int] | None:
        if lines is not None and duplicates(lines):
            raise ValueError(f"line numbers must be unique; repeated: {duplicates(lines)}")
        return lines

    @model_validator(mode="after")
    def _later(self) -> ShipmentDelayed:
        if self.new_date <= self.original_date:
            raise ValueError("new_date must be after original_date")
        return self


class ReceiptLine(CanonicalModel):
    """One received line, tied to the PO line it fills."""

    line: LineNumber
    po_line: LineNumber
    item_id: Identifier
    quantity: PositiveQuantity
    lot: Identifier | None = None
    storage_location: Identifier


class GoodsReceived(EventData):
    """Goods against a PO were received into stock (data of procurement.goods.received v1)."""

    receipt_id: Identifier
    po_number: Identifier
    plant: Identifier
    supplier_id: Identifier | None = None
    asn_id: Identifier | None = None
    lines: Annotated[list[ReceiptLine], Field(min_length=1)]
    received_at: BusinessTime

    @field_validator("lines")
    @classmethod
    def _unique_lines(cls, lines: list[ReceiptLine]) -> list[ReceiptLine]:
        unique_lines(lines)
        return lines
