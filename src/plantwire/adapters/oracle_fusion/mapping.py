"""The Oracle Fusion Cloud SCM mapping pack as data: resource paths, field maps, unit and status maps.

Field names follow Oracle's documented REST resources (version 11.13.18.05); the field maps are
plain dicts so a deployment can correct or extend them without touching translate.py. Attributes
marked "assumed" below were not confirmed against a live pod (none is reachable here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from plantwire.adapters._erp_json import CrossReference, invalid

SYSTEM = "oracle-fusion"
API = "/fscmRestApi/resources/11.13.18.05"
RESOURCES = {
    "work_orders": f"{API}/workOrders",
    "purchase_orders": f"{API}/purchaseOrders",
    "receipts": f"{API}/receivingReceiptRequests",
}
REST_FRAMEWORK_VERSION = "4"
ITEM_MEDIA = "application/vnd.oracle.adf.resourceitem+json"

WORK_ORDER = {
    "number": "WorkOrderNumber",
    "organization": "OrganizationCode",
    "item": "ItemNumber",
    "quantity": "PlannedStartQuantity",
    "uom": "UOMCode",
    "start": "PlannedStartDate",
    "end": "PlannedCompletionDate",
    "status": "WorkOrderStatusCode",
    "due": "ScheduledCompletionDate",  # assumed
    "operations": "WorkOrderOperation",
    "op_seq": "OperationSequenceNumber",
    "work_center": "WorkCenterCode",
    "materials": "WorkOrderOperationMaterial",
    "mat_seq": "MaterialSequenceNumber",
    "mat_item": "ItemNumber",
    "mat_qty": "Quantity",
    "mat_uom": "UOMCode",
    "mat_subinventory": "SupplySubinventory",
}
"""Canonical production order field -> workOrders attribute (with its operation and material children)."""

PURCHASE_ORDER = {
    "number": "OrderNumber",
    "revision": "Revision",  # assumed: the change order revision
    "status": "StatusCode",
    "supplier": "SupplierNumber",
    "currency": "CurrencyCode",  # SupplierNumber assumed
    "approved_at": "LastUpdateDate",
    "lines": "lines",
    "line": "LineNumber",
    "item": "Item",
    "quantity": "Quantity",
    "uom": "UOMCode",
    "price": "Price",
    "schedules": "schedules",
    "need_by": "RequestedDeliveryDate",
    "organization": "ShipToOrganizationCode",
    "subinventory": "DestinationSubinventory",  # assumed
}
"""Canonical purchase order field -> purchaseOrders attribute (lines and schedules children)."""

RECEIPT = {
    "source": "ReceiptSourceCode",
    "organization": "OrganizationCode",
    "supplier": "VendorNumber",
    "reference": "Comments",
    "receipt_number": "ReceiptNumber",
    "asn": "ShipmentNumber",
    "date": "TransactionDate",
    "lines": "lines",
    "document_code": "SourceDocumentCode",
    "transaction_type": "TransactionType",
    "auto_transact": "AutoTransactCode",
    "po": "DocumentNumber",
    "po_line": "DocumentLineNumber",
    "po_schedule": "DocumentScheduleNumber",
    "item": "ItemNumber",
    "quantity": "Quantity",
    "uom": "UOMCode",
    "subinventory": "Subinventory",
    "lots": "lotItemLots",
    "lot": "LotNumber",
    "lot_quantity": "TransactionQuantity",
}
"""Canonical receipt field -> receivingReceiptRequests attribute (lines and lot children)."""

UNITS = {"Ea": "EA", "EA": "EA", "kg": "KG", "KG": "KG", "m": "M", "L": "L", "BOX": "BOX"}
"""Oracle UOM code -> canonical unit (unit codes are case-sensitive in Fusion)."""

WORK_ORDER_STATUS = {
    "ORA_UNRELEASED": "created",
    "ORA_RELEASED": "released",
    "ORA_ON_HOLD": "on_hold",
    "ORA_COMPLETED": "completed",
    "ORA_CLOSED": "closed",
    "ORA_CANCELED": "cancelled",
}
"""workOrders WorkOrderStatusCode -> canonical order state."""

PO_APPROVED = frozenset({"OPEN"})
"""purchaseOrders StatusCode values that mean an approved, sendable revision."""


def xref(name: str, pairs: Mapping[str, str] | None = None) -> CrossReference:
    """A cross-reference of this system for one field."""
    return CrossReference(SYSTEM, name, pairs)


@dataclass(frozen=True)
class OracleMapping:
    """Everything an Oracle Fusion translation needs about one pod."""

    pod: str = "fa-prod"
    items: CrossReference = field(default_factory=lambda: xref("ItemNumber"))
    organizations: CrossReference = field(default_factory=lambda: xref("OrganizationCode"))
    subinventories: CrossReference = field(default_factory=lambda: xref("Subinventory"))
    suppliers: CrossReference = field(default_factory=lambda: xref("SupplierNumber"))
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))

    @property
    def source(self) -> str:
        return f"{SYSTEM}/{self.pod}"


def unit_in(table: Mapping[str, str], code: str, path: str) -> str:
    if code not in table:
        raise invalid(
            path, "unknown-unit", f"unit {code!r} is not mapped (known: {', '.join(sorted(table))})"
        )
    return table[code]


def unit_out(table: Mapping[str, str], canonical: str, path: str) -> str:
    for code, unit in table.items():
        if unit == canonical:
            return code
    raise invalid(path, "unknown-unit", f"canonical unit {canonical!r} has no Oracle UOM code")
