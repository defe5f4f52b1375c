"""Cross-references between golden ids and the supplier portal's ids, as data.

The portal is one supplier (ACME Components, golden ``SUP-200``, ERP vendor 0000100200). It knows
its own part numbers and UN/ECE units, and the buyer's PO number (the ERP EBELN, the golden PO id).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plantwire.adapters.simfeed import CrossReference

SYSTEM = "supplier"

SENDERS: dict[str, str] = {"ACME-COMPONENTS": "SUP-200"}
"""Portal sender -> golden supplier id."""

SUPPLIER_ID = "SUP-200"
"""The golden supplier this portal is; POs for other suppliers are not sent here."""

PLANT = "1000"
"""The golden plant whose POs this portal receives (messages do not name the buyer)."""

BUYERS: dict[str, str] = {"1000": "PLANT-1000", "2000": "PLANT-2000"}
"""Golden plant -> the buyer id the portal knows us by."""

PARTS: dict[str, str] = {
    "RM-HOUSING-A": "HSG-A1",
    "RM-IMPELLER-7": "IMP-7",
    "RM-SEAL-KIT": "SEAL-9",
    "RM-MOTOR-2KW": "MOT-2K",
    "RM-BOLT-M8": "BOLT-M8",
    "RM-PA6-RESIN": "PA6-25",
    "RM-CU-CABLE": "CU-15",
}
"""Golden item id -> supplier part number."""

PART_UNITS: dict[str, str] = {
    "HSG-A1": "PCE", "IMP-7": "PCE", "SEAL-9": "PCE", "MOT-2K": "PCE", "BOLT-M8": "PCE",
    "PA6-25": "KGM", "CU-15": "MTR",
}
"""Supplier part -> the unit it is sold in (acknowledgments carry no unit)."""

UNITS: dict[str, str] = {"EA": "PCE", "KG": "KGM", "M": "MTR"}
"""Canonical unit -> UN/ECE Recommendation 20 code the portal uses."""


@dataclass(frozen=True)
class SupplierMapping:
    """The supplier cross-references as lookups; unknown ids raise UnknownCrossReference."""

    supplier_id: str = SUPPLIER_ID
    plant: str = PLANT
    senders: dict[str, str] = field(default_factory=lambda: dict(SENDERS))
    buyers: dict[str, str] = field(default_factory=lambda: dict(BUYERS))
    parts: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "supplierPart", PARTS))
    part_units: dict[str, str] = field(default_factory=lambda: dict(PART_UNITS))
    units: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "unit", UNITS))
