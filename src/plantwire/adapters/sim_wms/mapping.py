"""Cross-references between golden ids and the WMS simulator's ids, as data.

The WMS knows SKUs, bins (``aisle-rack-level``) and handling units; the golden model knows items and
storage locations. A bin belongs to a golden storage location by its aisle; line-side and put-away
bins are chosen per golden work center / location.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plantwire.adapters.simfeed import CrossReference

SYSTEM = "wms"

ITEMS: dict[str, str] = {
    "FG-PUMP-100": "SKU-10100",
    "FG-PUMP-200": "SKU-10200",
    "FG-VALVE-20": "SKU-10320",
    "FG-VALVE-40": "SKU-10340",
    "RM-HOUSING-A": "SKU-20011",
    "RM-IMPELLER-7": "SKU-20027",
    "RM-SEAL-KIT": "SKU-20035",
    "RM-MOTOR-2KW": "SKU-20042",
    "RM-BOLT-M8": "SKU-20058",
    "RM-PA6-RESIN": "SKU-30001",
    "RM-CU-CABLE": "SKU-30002",
}
"""Golden item id -> WMS SKU."""

UNITS: dict[str, str] = {"EA": "EA", "KG": "KG", "M": "M"}
"""Canonical unit -> WMS unit."""

WAREHOUSES: dict[str, str] = {"WH1": "1000"}
"""WMS warehouse -> golden plant."""

BIN_AISLES: dict[str, str] = {"00": "RM01", "01": "RM01", "02": "FG01", "90": "PR01"}
"""Bin aisle -> golden storage location: dock and raw-material racks, finished-goods racks, line side."""

PUTAWAY_FROM_AISLES: dict[str, str] = {"90": "FG01"}
"""For put-away tasks only: finished goods waiting at the line end already count in FG01 (the MES
completion put them there), so a put-away is a move inside FG01 and raises no transfer."""

LINE_BINS: dict[str, str] = {"WC-ASSY-1": "90-01-01", "WC-ASSY-2": "90-02-01"}
"""Golden work center -> the line-side bin its components are staged to."""

DEFAULT_WORK_CENTER = "WC-ASSY-1"
"""Where staging goes when the request names no work center."""

OUTPUT_BINS: dict[str, str] = {"FG01": "90-01-01", "PR01": "90-01-01"}
"""Golden location of reported output -> the WMS bin where it waits for put-away."""


@dataclass(frozen=True)
class WmsMapping:
    """The WMS cross-references as lookups; unknown ids raise UnknownCrossReference."""

    items: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "sku", ITEMS))
    units: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "uom", UNITS))
    warehouses: dict[str, str] = field(default_factory=lambda: dict(WAREHOUSES))
    bin_aisles: dict[str, str] = field(default_factory=lambda: dict(BIN_AISLES))
    putaway_from_aisles: dict[str, str] = field(default_factory=lambda: dict(PUTAWAY_FROM_AISLES))
    line_bins: dict[str, str] = field(default_factory=lambda: dict(LINE_BINS))
    default_work_center: str = DEFAULT_WORK_CENTER
    output_bins: dict[str, str] = field(default_factory=lambda: dict(OUTPUT_BINS))
    warehouse: str = "WH1"
    """The warehouse commands go to."""
