"""The catalog of event contracts: each event type and version, its data model and JSON Schema."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from plantwire.domain.edge import EdgeAlarm
from plantwire.domain.inventory import InventoryTransferred
from plantwire.domain.procurement import (
    GoodsReceived,
    PurchaseOrderApproved,
    ShipmentDelayed,
    SupplierAcknowledged,
)
from plantwire.domain.production import (
    ComponentConsumed,
    ProductionGoodsCompleted,
    ProductionOrderReleased,
)
from plantwire.domain.quality import QualityHoldPlaced, QualityHoldReleased
from plantwire.domain.shipping import InvoiceReceived, ShipmentNotified

__all__ = ["CATALOG", "SCHEMA_DIALECT", "Catalog", "Contract", "schema_file_name"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect of every exported contract schema."""


def schema_file_name(type: str, version: str) -> str:
    """The export file name of a contract, e.g. production.order.released.v1.json."""
    return f"{type}.v{version}.json"


@dataclass(frozen=True)
class Contract:
    """A named, versioned event contract: what the `data` of an event of this type must be."""

    type: str
    version: str
    model: builtins.type[BaseModel]
    key_field: str
    summary: str

    def __post_init__(self) -> None:
        if self.key_field not in self.model.model_fields:
            raise ValueError(f"{self.model.__name__} has no field {self.key_field!r} to key on")
        if not self.version.isdigit():
            raise ValueError(f"contract version must be digits, got {self.version!r}")

    def partition_key(self, data: BaseModel) -> str:
        """The business key that orders events of this contract (e.g. the order id)."""
        return str(getattr(data, self.key_field))

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema (validation mode) of the data, named by type and version."""
        schema = self.model.model_json_schema(mode="validation")
        return {
            "$schema": SCHEMA_DIALECT,
            "$id": f"urn:plantwire:contract:{self.type}:v{self.version}",
            **schema,
            "title": f"{self.type} v{self.version}",
            "description": self.summary,
        }


class Catalog:
    """The contracts known to the hub, looked up by type and version."""

    def __init__(self, contracts: Iterable[Contract]) -> None:
        self._contracts: dict[tuple[str, str], Contract] = {}
        for contract in contracts:
            key = (contract.type, contract.version)
            if key in self._contracts:
                raise ValueError(f"contract {contract.type} v{contract.version} declared twice")
            self._contracts[key] = contract

    def get(self, type: str, version: str) -> Contract | None:
        """The contract for this type and version, or None when unknown."""
        return self._contracts.get((type, version))

    def versions(self, type: str) -> list[str]:
        """The versions of a type, oldest first; empty when the type is unknown."""
        return sorted((v for t, v in self._contracts if t == type), key=int)

    def types(self) -> list[str]:
        """Every event type, sorted."""
        return sorted({t for t, _ in self._contracts})

    def __iter__(self) -> Iterator[Contract]:
        return iter(sorted(self._contracts.values(), key=lambda c: (c.type, int(c.version))))

    def export(self) -> dict[str, dict[str, Any]]:
        """Every contract's JSON Schema, keyed by its file name."""
        return {schema_file_name(c.type, c.version): c.json_schema() for c in self}


CATALOG = Catalog(
    [
        Contract(
            "production.order.released",
            "1",
            ProductionOrderReleased,
            "order_id",
            "A production order was released to the shop floor with its component list.",
        ),
        Contract(
            "production.component.consumed",
            "1",
            ComponentConsumed,
            "order_id",
            "Material was issued from a storage location to a production order.",
        ),
        Contract(
            "production.goods.completed",
            "1",
            ProductionGoodsCompleted,
            "order_id",
            "A production order reported yield and scrap into a storage location.",
        ),
        Contract(
            "inventory.transferred",
            "1",
            InventoryTransferred,
            "item_id",
            "Stock of an item moved from one storage location to another.",
        ),
        Contract(
            "procurement.po.approved",
            "1",
            PurchaseOrderApproved,
            "po_number",
            "A purchase order revision was approved and may be sent to the supplier.",
        ),
        Contract(
            "procurement.supplier.acknowledged",
            "1",
            SupplierAcknowledged,
            "po_number",
            "A supplier accepted, changed or rejected the lines of a purchase order revision.",
        ),
        Contract(
            "procurement.shipment.delayed",
            "1",
            ShipmentDelayed,
            "po_number",
            "A supplier moved the delivery of a purchase order (or some lines) to a later date.",
        ),
        Contract(
            "procurement.goods.received",
            "1",
            GoodsReceived,
            "po_number",
            "Goods against a purchase order were received into storage locations.",
        ),
        Contract(
            "quality.hold.placed",
            "1",
            QualityHoldPlaced,
            "hold_id",
            "Stock of an item (or lot) was blocked pending a quality decision.",
        ),
        Contract(
            "quality.hold.released",
            "1",
            QualityHoldReleased,
            "hold_id",
            "A quality hold ended with a disposition: release, scrap, rework or return.",
        ),
        Contract(
            "procurement.shipment.notified",
            "1",
            ShipmentNotified,
            "asn_id",
            "A supplier announced a shipment with its lines, lots and packages (an ASN).",
        ),
        Contract(
            "finance.invoice.received",
            "1",
            InvoiceReceived,
            "invoice_id",
            "A supplier invoice arrived, with its lines, prices and total.",
        ),
        Contract("edge.alarm.raised", "1", EdgeAlarm, "agent",
                 "A plant edge agent's backlog grew too large or too old, or its outbox is full."),
        Contract("edge.alarm.cleared", "1", EdgeAlarm, "agent",
                 "A plant edge agent's backlog alarm ended."),
    ]
)
"""All contracts the hub knows, version 1 of each."""
