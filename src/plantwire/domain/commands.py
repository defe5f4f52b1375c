"""Canonical commands: what flows ask outside systems to do, in our vocabulary.

A flow sends ``Command(target, name, payload)`` where payload is ``model.model_dump(mode="json")``
of one of these; the target's sink parses it back with ``COMMANDS[(target, name)]`` and translates it
to the system's own call, passing the idempotency key on. Names are imperative; targets are the
roles ("erp", "mes", "wms", "supplier"), not products, so a plant can swap its ERP.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from plantwire.domain.events import Revision, Text
from plantwire.domain.master import Identifier, LineNumber
from plantwire.domain.procurement import AckStatus
from plantwire.domain.quantities import CanonicalModel, NonNegativeAmount, PositiveQuantity

__all__ = ["COMMANDS", "BlockLot", "CreatePutaway", "DownloadProductionOrder", "Movement",
           "PostFinancialDocument", "PostGoodsMovement", "RequestStaging", "ReverseDocument",
           "SendPurchaseOrder", "StagingLine", "UnblockLot", "UpdatePurchaseOrderLines"]


class Movement(StrEnum):
    """Kinds of goods movement (SAP movement types in brackets)."""

    GOODS_ISSUE_TO_ORDER = "goods_issue_to_order"  # 261
    GOODS_RECEIPT_FROM_ORDER = "goods_receipt_from_order"  # 101 against AUFNR
    GOODS_RECEIPT_FOR_PO = "goods_receipt_for_po"  # 101 against EBELN/EBELP
    TRANSFER = "transfer"  # 311
    BLOCK = "block"  # 344: unrestricted -> blocked
    UNBLOCK = "unblock"  # 343: blocked -> unrestricted


class PostGoodsMovement(CanonicalModel):
    """erp.post_goods_movement: one material document with one item."""

    movement: Movement
    plant: Identifier
    item_id: Identifier
    quantity: PositiveQuantity
    storage_location: Identifier
    to_location: Identifier | None = None
    lot: Identifier | None = None
    order_id: Identifier | None = None
    po_number: Identifier | None = None
    po_line: LineNumber | None = None
    text: Text | None = None


class ReverseDocument(CanonicalModel):
    """erp.reverse_document: cancel a material document (compensation)."""

    document: Identifier
    reason: Text | None = None


class PostFinancialDocument(CanonicalModel):
    """erp.post_financial_document: the accounting side of a goods receipt to a PO."""

    po_number: Identifier
    receipt_document: Identifier
    plant: Identifier
    amount: NonNegativeAmount | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None


class PoLineUpdate(CanonicalModel):
    """One PO line as the supplier acknowledged it."""

    line: LineNumber
    status: AckStatus
    quantity: PositiveQuantity | None = None
    delivery_date: date | None = None


class UpdatePurchaseOrderLines(CanonicalModel):
    """erp.update_po_lines: apply a supplier's changes or rejections to the ERP PO."""

    po_number: Identifier
    revision: Revision
    lines: Annotated[list[PoLineUpdate], Field(min_length=1)]


class StagingLine(CanonicalModel):
    """One component to bring to the line."""

    line: LineNumber
    item_id: Identifier
    quantity: PositiveQuantity
    storage_location: Identifier | None = None


class RequestStaging(CanonicalModel):
    """wms.request_staging: bring an order's components to the line."""

    order_id: Identifier
    plant: Identifier
    work_center: Identifier | None = None
    lines: Annotated[list[StagingLine], Field(min_length=1)]


class CreatePutaway(CanonicalModel):
    """wms.create_putaway: store finished goods reported by the MES."""

    order_id: Identifier
    plant: Identifier
    item_id: Identifier
    quantity: PositiveQuantity
    lot: Identifier | None = None
    from_location: Identifier


class BlockLot(CanonicalModel):
    """wms.block_lot / erp (via post_goods_movement BLOCK): quality hold on a lot."""

    hold_id: Identifier
    plant: Identifier
    item_id: Identifier
    lot: Identifier | None = None
    storage_location: Identifier | None = None
    reason: Text | None = None


class UnblockLot(CanonicalModel):
    """wms.unblock_lot: release a quality hold."""

    hold_id: Identifier
    plant: Identifier
    item_id: Identifier
    lot: Identifier | None = None


class PoLine(CanonicalModel):
    """One line of a PO sent to a supplier."""

    line: LineNumber
    item_id: Identifier
    quantity: PositiveQuantity
    delivery_date: date
    unit_price: NonNegativeAmount | None = None


class SendPurchaseOrder(CanonicalModel):
    """supplier.send_purchase_order: transmit a PO revision to the supplier."""

    po_number: Identifier
    revision: Revision
    plant: Identifier
    supplier_id: Identifier
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    lines: Annotated[list[PoLine], Field(min_length=1)]


class DownloadProductionOrder(CanonicalModel):
    """mes.download_order: send a released order to the shop floor."""

    order_id: Identifier
    plant: Identifier
    item_id: Identifier
    quantity: PositiveQuantity
    work_center: Identifier | None = None
    components: list[StagingLine] = Field(default_factory=list)


COMMANDS: dict[tuple[str, str], type[BaseModel]] = {
    ("erp", "post_goods_movement"): PostGoodsMovement,
    ("erp", "reverse_document"): ReverseDocument,
    ("erp", "post_financial_document"): PostFinancialDocument,
    ("erp", "update_po_lines"): UpdatePurchaseOrderLines,
    ("wms", "request_staging"): RequestStaging,
    ("wms", "create_putaway"): CreatePutaway,
    ("wms", "block_lot"): BlockLot,
    ("wms", "unblock_lot"): UnblockLot,
    ("supplier", "send_purchase_order"): SendPurchaseOrder,
    ("mes", "download_order"): DownloadProductionOrder,
}
"""Every canonical command by (target, name)."""
