"""Cross-references between golden ids and the ERP simulator's ids, as data (its seeded master data).

Golden items are the hub's item master ids; the ERP is the system of record for production orders
and purchase orders, so their numbers (AUFNR, EBELN) are the golden order and PO ids unchanged.
Replace these tables (pass an ``ErpMapping``) to connect another plant's ERP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plantwire.adapters.simfeed import CrossReference

SYSTEM = "erp"

ITEMS: dict[str, str] = {
    "FG-PUMP-100": "10000100",  # Centrifugal pump CP-100
    "FG-PUMP-200": "10000200",  # Centrifugal pump CP-200
    "FG-VALVE-20": "10000320",  # Ball valve DN20
    "FG-VALVE-40": "10000340",  # Ball valve DN40
    "RM-HOUSING-A": "20000011",
    "RM-IMPELLER-7": "20000027",
    "RM-SEAL-KIT": "20000035",
    "RM-MOTOR-2KW": "20000042",
    "RM-BOLT-M8": "20000058",
    "RM-PA6-RESIN": "30000001",
    "RM-CU-CABLE": "30000002",
}
"""Golden item id -> MATNR."""

UNITS: dict[str, str] = {"EA": "ST", "KG": "KG", "M": "M"}
"""Canonical unit -> SAP internal unit (MEINS)."""

PLANTS: dict[str, str] = {"1000": "1000", "2000": "2000"}
"""Golden plant id -> WERKS."""

STORAGE_LOCATIONS: dict[str, str] = {"RM01": "RM01", "FG01": "FG01", "PR01": "PR01"}
"""Golden storage location -> LGORT: raw materials, finished goods, production supply (line side)."""

SUPPLIERS: dict[str, str] = {"SUP-100": "0000100100", "SUP-200": "0000100200", "SUP-300": "0000100300"}
"""Golden supplier id -> vendor number (LIFNR)."""

PLANT_TIMEZONES: dict[str, str] = {"1000": "Europe/Berlin", "2000": "Europe/Paris"}
"""Where each plant's calendar dates (GSTRP, GLTRP) are meant."""

MOVEMENT_TYPES: dict[str, str] = {
    "goods_issue_to_order": "261",
    "goods_receipt_from_order": "101",
    "goods_receipt_for_po": "101",
    "transfer": "311",
    "block": "344",
    "unblock": "343",
}
"""Canonical movement -> BWART."""

ACK_ACTIONS: dict[str, str] = {"accepted": "ACCEPT", "changed": "CHANGE", "rejected": "REJECT"}
"""Canonical acknowledgment status -> PO confirmation ACTION."""


@dataclass(frozen=True)
class ErpMapping:
    """The ERP cross-references as lookups; unknown ids raise UnknownCrossReference."""

    items: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "MATNR", ITEMS))
    units: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "MEINS", UNITS))
    plants: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "WERKS", PLANTS))
    locations: CrossReference = field(
        default_factory=lambda: CrossReference(SYSTEM, "LGORT", STORAGE_LOCATIONS))
    suppliers: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "LIFNR", SUPPLIERS))
    timezones: dict[str, str] = field(default_factory=lambda: dict(PLANT_TIMEZONES))
