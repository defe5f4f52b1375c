"""Supplier documents after the order: advance ship notices and invoices."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, field_validator

from plantwire.domain.events import BusinessTime, CurrencyCode, EventData, unique_lines
from plantwire.domain.master import Identifier, LineNumber
from plantwire.domain.quantities import CanonicalModel, NonNegativeAmount, PositiveQuantity

__all__ = ["InvoiceLine", "InvoiceReceived", "ShipmentLine", "ShipmentNotified"]


class ShipmentLine(CanonicalModel):
    """One shipped line: what, how much, against which PO line, in which lot or package."""

    line: LineNumber
    po_number: Identifier
    po_line: LineNumber | None = None
    item_id: Identifier
    supplier_item_id: Identifier | None = None
    quantity: PositiveQuantity
    lot: Identifier | None = None
    package_id: Identifier | None = None


class ShipmentNotified(EventData):
    """A supplier announced a shipment (ASN: X12 856, EDIFACT DESADV); procurement.shipment.notified v1."""

    asn_id: Identifier
    supplier_id: Identifier
    plant: Identifier | None = None
    shipped_at: BusinessTime
    expected_at: BusinessTime | None = None
    carrier: Identifier | None = None
    tracking_id: Identifier | None = None
    lines: Annotated[list[ShipmentLine], Field(min_length=1)]

    @field_validator("lines")
    @classmethod
    def _unique_lines(cls, lines: list[ShipmentLine]) -> list[ShipmentLine]:
        unique_lines(lines)
        return lines


class InvoiceLine(CanonicalModel):
    """One invoiced line."""

    line: LineNumber
    po_number: Identifier | None = None
    po_line: LineNumber | None = None
    item_id: Identifier | None = None
    quantity: PositiveQuantity
    unit_price: NonNegativeAmount
    amount: NonNegativeAmount | None = None


class InvoiceReceived(EventData):
    """A supplier invoice arrived (X12 810, EDIFACT INVOIC); finance.invoice.received v1."""

    invoice_id: Identifier
    supplier_id: Identifier
    invoice_date: date
    currency: CurrencyCode
    total: NonNegativeAmount
    po_number: Identifier | None = None
    lines: Annotated[list[InvoiceLine], Field(min_length=1)]

    @field_validator("lines")
    @classmethod
    def _unique_lines(cls, lines: list[InvoiceLine]) -> list[InvoiceLine]:
        unique_lines(lines)
        return lines
