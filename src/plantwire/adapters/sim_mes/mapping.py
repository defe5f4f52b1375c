"""Cross-references between golden ids and the MES simulator's ids, as data.

The MES has its own part numbers and units; it knows production orders by the ERP's number
(``erpOrderNumber``), which is the golden order id. It serves one plant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plantwire.adapters.simfeed import CrossReference

SYSTEM = "mes"

PLANT = "1000"
"""The golden plant this MES runs."""

ITEMS: dict[str, str] = {
    "FG-PUMP-100": "P-7731",
    "FG-PUMP-200": "P-7732",
    "FG-VALVE-20": "P-7741",
    "FG-VALVE-40": "P-7742",
    "RM-HOUSING-A": "P-1001",
    "RM-IMPELLER-7": "P-1002",
    "RM-SEAL-KIT": "P-1003",
    "RM-MOTOR-2KW": "P-1004",
    "RM-BOLT-M8": "P-1005",
    "RM-PA6-RESIN": "P-2040",
    "RM-CU-CABLE": "P-2050",
}
"""Golden item id -> MES part number."""

UNITS: dict[str, str] = {"EA": "pcs", "KG": "kg", "M": "m"}
"""Canonical unit -> MES unit."""

LOCATIONS: dict[str, str] = {"LINESIDE-1": "PR01", "LINESIDE-2": "PR01"}
"""MES consumption location -> golden storage location (line-side stock is production supply)."""

OUTPUT_LOCATION = "FG01"
"""Golden storage location that reported output counts into (the ERP order's receiving LGORT);
the MES report names no location."""

WORK_CENTERS: dict[str, tuple[str, str]] = {
    "WC-ASSY-1": ("LINE-1", "LINESIDE-1"),
    "WC-ASSY-2": ("LINE-2", "LINESIDE-2"),
}
"""Golden work center -> (MES line, the line-side location its components are consumed from)."""

DEFAULT_WORK_CENTER = "WC-ASSY-1"
"""Where an order without a work center runs."""


@dataclass(frozen=True)
class MesMapping:
    """The MES cross-references as lookups; unknown ids raise UnknownCrossReference."""

    plant: str = PLANT
    items: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "partNumber", ITEMS))
    units: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "uom", UNITS))
    locations: dict[str, str] = field(default_factory=lambda: dict(LOCATIONS))
    output_location: str = OUTPUT_LOCATION
    work_centers: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(WORK_CENTERS))
    default_work_center: str = DEFAULT_WORK_CENTER
