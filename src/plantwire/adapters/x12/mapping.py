"""What a trading partner agreement fixes: ids, version, time zone, defaults and code value maps.

Value maps are data a partner may override: X12 line status codes (element 668) to the canonical
acknowledgment status, X12 units (element 355) to canonical unit codes, and the product id
qualifiers (element 235) in the order we trust them as the item id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from types import MappingProxyType
from typing import Literal

from plantwire.domain.procurement import AckStatus

A, C, R = AckStatus.ACCEPTED, AckStatus.CHANGED, AckStatus.REJECTED

LINE_STATUS = MappingProxyType({
    "IA": A, "AC": A, "AR": A, "IE": A, "SP": A, "IF": A, "IH": A, "IW": A,
    "IC": C, "IQ": C, "IP": C, "IS": C, "IB": C, "BP": C, "DR": C, "IT": C, "QD": C,
    "IR": R, "ID": R, "R1": R, "R2": R, "R3": R, "R4": R, "R5": R, "R6": R, "R7": R, "R8": R,
})
"""ACK01 line item status (668) -> canonical status: IA accepted, IC changes made, IQ quantity changed,
DR date rescheduled, IB backordered, IR rejected, ID deleted, ... (unknown codes are refused)."""

REJECTING_ACKS = frozenset({"RD", "RF", "RJ", "RO"})
"""BAK02 acknowledgment types that reject the PO lines they do not detail."""

EMIT_STATUS = MappingProxyType({A: "IA", R: "IR"})
"""Canonical status -> ACK01 when writing (changed picks IQ, DR or IC from what changed)."""

UNITS: MappingProxyType[str, str] = MappingProxyType({})
"""X12 unit code (355) -> canonical unit code; codes not listed pass through unchanged."""

ITEM_QUALIFIERS = ("BP", "IN", "VP", "VN", "VA", "MG", "SK", "UP", "EN", "UA", "UK", "CB", "PN", "PI")
"""Product id qualifiers (235) in the order their value becomes the canonical item id."""

NOT_ITEMS = frozenset({"PO", "PL", "PD", "B6", "B3", "B4", "ON", "CT", "LT"})
"""Qualifiers in product id pairs that do not identify the item (PO number, line, description, ...)."""


@dataclass(frozen=True)
class Partner:
    """One trading partner: the envelope ids on both sides and how their documents map."""

    partner_id: str = "PARTNER"
    partner_qualifier: str = "ZZ"
    our_id: str = "PLANTWIRE"
    our_qualifier: str = "ZZ"
    version: str = "004010"
    usage: Literal["P", "T"] = "P"
    timezone: tzinfo = UTC
    currency: str = "USD"
    plant: str | None = None
    line_status: Mapping[str, AckStatus] = field(default_factory=lambda: LINE_STATUS)
    units: Mapping[str, str] = field(default_factory=lambda: UNITS)

    def unit(self, code: str) -> str:
        """The canonical unit for an X12 unit code."""
        return self.units.get(code, code)
