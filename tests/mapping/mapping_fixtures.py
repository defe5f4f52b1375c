"""Events and rule documents the mapping tests share."""

from __future__ import annotations

import copy
from typing import Any

RECEIPT: dict[str, Any] = {
    "specversion": "1.0", "id": "GR-1", "source": "wms/plant-1000", "type": "procurement.goods.received",
    "contractversion": "1", "plant": "1000",
    "data": {"receipt_id": "GR-1", "po_number": "4500000001", "plant": "1000", "supplier_id": "SUP-100",
             "received_at": "2026-11-27T07:04:00+00:00",
             "lines": [{"line": 1, "po_line": 10, "item_id": "RM-HOUSING-A",
                        "quantity": {"value": "5", "uom": "EA"}, "storage_location": "RM01"}]}}

PO: dict[str, Any] = {
    "specversion": "1.0", "id": "PO-4500000001/rev-0", "source": "erp/plant-1000",
    "type": "procurement.po.approved", "contractversion": "1", "plant": "1000",
    "data": {"po_number": "4500000001", "revision": 0, "plant": "1000", "supplier_id": "SUP-100",
             "currency": "EUR", "approved_at": "2026-11-27T06:00:00+00:00",
             "lines": [{"line": 10, "item_id": "RM-HOUSING-A", "quantity": {"value": "5", "uom": "EA"},
                        "delivery_date": "2026-11-30"}]}}

COMPLETION: dict[str, Any] = {
    "specversion": "1.0", "id": "COMP-1", "source": "mes/plant-1000", "type": "production.goods.completed",
    "contractversion": "1", "plant": "1000",
    "data": {"order_id": "1000000", "plant": "1000", "completion_id": "1000000-1", "item_id": "FG-PUMP-100",
             "yield_quantity": {"value": "10", "uom": "EA"}, "scrap_quantity": {"value": "0", "uom": "EA"},
             "storage_location": "FG01", "final": False, "completed_at": "2026-11-27T10:04:00+00:00"}}

RULES_TOML = """
[[rule]]
id = "receipt-lot-at-1000"
contract = "procurement.goods.received"
kind = "required"
path = "lines[*].lot"
plants = ["1000"]
severity = "quarantine"

[[rule]]
id = "receipt-qty-sane"
contract = "procurement.goods.received"
kind = "range"
path = "lines[*].quantity.value"
min = "0"
max = "1000"
severity = "warn"

[[rule]]
id = "item-known"
contract = "*"
kind = "xref"
path = "lines[*].item_id"
xref_kind = "item"
system = "erp"
severity = "reject"

[[rule]]
id = "po-line-exists"
contract = "procurement.goods.received"
kind = "po_line"
path = "po_number"
line = "lines[*].po_line"
severity = "reject"
"""

OWNERS: dict[str, Any] = {
    "sources": {"erp/": "erp", "mes/": "mes", "wms/": "wms"},
    "owners": [
        {"object": "production_order", "attribute": "actual_yield", "system": "mes", "on_conflict": "reject",
         "consumers": ["erp"], "updates": [{"type": "production.goods.completed", "path": "yield_quantity"}]},
        {"object": "inventory", "attribute": "bin", "system": "wms", "on_conflict": "quarantine",
         "consumers": ["erp", "mes"], "updates": [{"type": "inventory.transferred", "path": "to_location"}]},
    ]}


def event(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of an event with top-level attributes changed."""
    out = copy.deepcopy(base)
    out.update(changes)
    return out
