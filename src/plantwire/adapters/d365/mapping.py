"""The Dynamics 365 Finance & Operations mapping pack as data: entity sets, field maps, unit and status maps.

Entity sets are the public OData collections under /data (ProdTable is the table behind
ProductionOrderHeaders; the OData collection names are what clients call). Field maps are dicts so a
deployment can adjust them; "extension" marks fields plantwire needs that standard entities lack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from plantwire.adapters._erp_json import CrossReference, invalid

SYSTEM = "d365"
ENTITY_SETS = {
    "production_orders": "ProductionOrderHeaders",
    "production_bom": "ProductionOrderBillOfMaterialLines",
    "po_headers": "PurchaseOrderHeadersV2",
    "po_lines": "PurchaseOrderLinesV2",
    "movement_headers": "InventoryMovementJournalHeaders",
    "movement_lines": "InventoryMovementJournalEntries",
    "transfer_headers": "InventoryTransferJournalHeaders",
    "transfer_lines": "InventoryTransferJournalEntries",
}

PRODUCTION_ORDER = {
    "number": "ProductionOrderNumber",
    "item": "ItemNumber",
    "site": "ProductionSiteId",
    "quantity": "ScheduledQuantity",
    "uom": "InventoryUnitSymbol",  # extension: header has no unit
    "status": "ProductionOrderStatus",
    "start": "ScheduledStartDate",
    "start_time": "ScheduledStartTime",
    "end": "ScheduledEndDate",
    "end_time": "ScheduledEndTime",
    "due": "DeliveryDate",
    "bom_line": "LineNumber",
    "bom_item": "ItemNumber",
    "bom_qty": "EstimatedInventoryQuantity",
    "bom_uom": "BOMUnitSymbol",
    "bom_warehouse": "ConsumptionWarehouseId",
    "bom_operation": "OperationNumber",
    "resource": "ProductionResourceId",  # extension: first route resource
}
PURCHASE_ORDER = {
    "number": "PurchaseOrderNumber",
    "vendor": "OrderVendorAccountNumber",
    "currency": "CurrencyCode",
    "approval": "DocumentApprovalStatus",
    "site": "DefaultReceivingSiteId",
    "revision": "PWRevisionNumber",
    "approved_at": "PWApprovedDateTime",  # extensions: no revision counter or approval time on the entity
    "line": "LineNumber",
    "item": "ItemNumber",
    "quantity": "OrderedPurchaseQuantity",
    "uom": "PurchaseUnitSymbol",
    "price": "PurchasePrice",
    "delivery": "RequestedDeliveryDate",
    "warehouse": "ReceivingWarehouseId",
}
JOURNAL = {
    "number": "JournalNumber",
    "name": "JournalNameId",
    "description": "Description",
    "line": "LineNumber",
    "item": "ItemNumber",
    "quantity": "InventoryQuantity",
    "site": "InventorySiteId",
    "warehouse": "InventoryWarehouseId",
    "batch": "ItemBatchNumber",
    "date": "TransactionDate",
    "from_site": "FromInventorySiteId",
    "from_warehouse": "FromInventoryWarehouseId",
    "to_site": "ToInventorySiteId",
    "to_warehouse": "ToInventoryWarehouseId",
    "from_batch": "FromItemBatchNumber",
    "to_batch": "ToItemBatchNumber",
    "from_status": "FromInventoryStatusId",
    "to_status": "ToInventoryStatusId",
}

JOURNAL_NAMES = {
    "goods_issue_to_order": "IMovPrdIss",
    "goods_receipt_from_order": "IMovPrdRcp",
    "goods_receipt_for_po": "IMovPORcp",
    "transfer": "ITrf",
    "block": "ITrfBlock",
    "unblock": "ITrfUnblock",
}
"""Canonical movement -> journal name (JournalNameId) set up for plantwire's postings."""

INVENTORY_STATUS = {"available": "Available", "blocked": "Blocked"}
STATUS_CHANGES = {"block": ("available", "blocked"), "unblock": ("blocked", "available")}
TRANSFER_MOVEMENTS = frozenset({"transfer", "block", "unblock"})

UNITS = {"ea": "EA", "pcs": "EA", "kg": "KG", "m": "M", "l": "L", "box": "BOX"}
"""D365 unit symbol -> canonical unit (first symbol per unit is the one written)."""

PRODUCTION_STATUS = {
    "Created": "created",
    "Estimated": "estimated",
    "Scheduled": "scheduled",
    "Released": "released",
    "StartedUp": "started",
    "ReportedFinished": "completed",
    "Ended": "closed",
}
PO_APPROVED = frozenset({"Approved", "Confirmed"})


def xref(name: str, pairs: Mapping[str, str] | None = None) -> CrossReference:
    """A cross-reference of this system for one field."""
    return CrossReference(SYSTEM, name, pairs)


@dataclass(frozen=True)
class D365Mapping:
    """Everything a D365 translation needs about one legal entity (dataAreaId)."""

    company: str = "usmf"
    items: CrossReference = field(default_factory=lambda: xref("ItemNumber"))
    sites: CrossReference = field(default_factory=lambda: xref("InventorySiteId"))
    warehouses: CrossReference = field(default_factory=lambda: xref("InventoryWarehouseId"))
    vendors: CrossReference = field(default_factory=lambda: xref("VendorAccountNumber"))
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))

    @property
    def source(self) -> str:
        return f"{SYSTEM}/{self.company}"


def unit_in(table: Mapping[str, str], code: str, path: str) -> str:
    if code.lower() not in table:
        raise invalid(
            path, "unknown-unit", f"unit {code!r} is not mapped (known: {', '.join(sorted(table))})"
        )
    return table[code.lower()]


def unit_out(table: Mapping[str, str], canonical: str, path: str) -> str:
    for code, unit in table.items():
        if unit == canonical:
            return code
    raise invalid(path, "unknown-unit", f"canonical unit {canonical!r} has no D365 unit symbol")
