"""The SAP mapping pack as data: units, movement types, status and action codes, qualifiers, cross-references.

Change these tables (or pass a `SapMapping`) to fit a plant's SAP configuration; translate.py only reads them.
Cross-reference tables left as None mean "the SAP id is the golden id" (typical when SAP is the
system of record for materials and plants); a table that is given must contain every id, and an id
missing from it is refused with the path it was read from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from plantwire.adapters.sap.common import invalid

SYSTEM = "sap"

UNITS_INTERNAL: dict[str, str] = {
    "ST": "EA",
    "KG": "KG",
    "G": "G",
    "M": "M",
    "L": "L",
    "KAR": "BOX",
    "PAL": "PAL",
}
"""SAP internal unit (MEINS, GMEIN, ENTRY_UOM, VRKME) -> canonical unit."""

UNITS_ISO: dict[str, str] = {
    "PCE": "EA",
    "KGM": "KG",
    "GRM": "G",
    "MTR": "M",
    "LTR": "L",
    "CT": "BOX",
    "PF": "PAL",
}
"""ISO unit (MENEE, *_ISO fields) -> canonical unit."""

UNITS_ODATA: dict[str, str] = {
    "PC": "EA",
    "KG": "KG",
    "G": "G",
    "M": "M",
    "L": "L",
    "CAR": "BOX",
    "PAL": "PAL",
}
"""Unit as the OData APIs show it (external, language EN) -> canonical unit."""

MOVEMENTS: dict[str, tuple[str, str, str]] = {
    "goods_issue_to_order": ("261", "03", "F"),
    "goods_receipt_from_order": ("101", "02", "F"),
    "goods_receipt_for_po": ("101", "01", "B"),
    "transfer": ("311", "04", ""),
    "block": ("344", "04", ""),
    "unblock": ("343", "04", ""),
}
"""Canonical movement -> (movement type BWART, GM_CODE, movement indicator KZBEW: F order, B PO)."""

MOVEMENT_OF: dict[tuple[str, str], str] = {(bwart, ind): mv for mv, (bwart, _, ind) in MOVEMENTS.items()}
"""(BWART, movement indicator) -> canonical movement."""

ORDER_STATUS: dict[str, str] = {
    "I0001": "created",
    "I0002": "released",
    "I0009": "confirmed",
    "I0010": "partially_confirmed",
    "I0012": "delivered",
    "I0045": "technically_completed",
    "I0046": "closed",
    "I0076": "deletion_flag",
}
"""System status of a production order (JEST-STAT in E1JSTKL) -> canonical order state."""

RELEASED = "I0002"

ACK_ACTIONS: dict[str, str] = {"000": "accepted", "001": "accepted", "002": "changed", "003": "rejected"}
"""E1EDP01-ACTION of an ORDRSP item -> canonical acknowledgment status."""

ACK_ACTION_OF: dict[str, str] = {"accepted": "000", "changed": "002", "rejected": "003"}
"""Canonical acknowledgment status -> E1EDP01-ACTION written by the emitter."""

FINAL_CONFIRMATION: dict[str, bool] = {"X": True, "1": False, "": False}
"""ProdnOrdConf2 FinalConfirmationType -> final? ("1" partial, "X" final, "" automatic: not final)."""

QUALIFIERS = {
    "po_reference": "001",  # E1EDK02-QUALF: customer purchase order
    "revision": "ZRV",  # E1EDK02-QUALF in the customer namespace: PO revision (interface agreement)
    "document_date": "012",  # E1EDK03-IDDAT: document date
    "material_buyer": "001",  # E1EDP19-QUALF: material number used by customer
    "material_vendor": "002",  # E1EDP19-QUALF: material number used by vendor
    "goods_issue": "006",  # E1EDT13-QUALF: goods issue (shipped)
    "delivery": "007",  # E1EDT13-QUALF: delivery date (expected)
    "delivery_po": "001",  # E1EDL41-QUALI: customer purchase order
}
"""Qualifier values the IDoc mappings look for."""

PARTNERS = {"vendor": "LF", "sold_to": "AG", "ship_to": "WE", "carrier": "SP"}
"""Partner functions (PARVW / PARTNER_Q)."""

MANDATORY: dict[str, dict[str, tuple[str, ...]]] = {
    "LOIPRO01": {
        "E1AFKOL": ("AUFNR", "WERKS", "MATNR", "GAMNG", "GMEIN", "GSTRS", "GLTRS"),
        "E1RESBL": ("RSPOS", "MATNR", "BDMNG", "MEINS"),
    },
    "ORDERS05": {"E1EDK01": ("BELNR", "CURCY"), "E1EDP01": ("POSEX", "MENGE", "MENEE", "WERKS")},
    "ORDRSP": {"E1EDK01": ("BELNR",), "E1EDP01": ("POSEX",)},
    "DELVRY07": {"E1EDL20": ("VBELN",), "E1EDL24": ("POSNR", "LFIMG", "VRKME")},
    "MBGMCR03": {"E1BP2017_GM_ITEM_CREATE": ("MATERIAL", "PLANT", "STGE_LOC", "MOVE_TYPE", "ENTRY_QNT")},
}
"""Fields the translation needs per segment (documentation; the readers enforce them where read)."""

FIELD_LENGTHS = {
    "REF_DOC_NO": 16,
    "REF_DOC_NO_LONG": 35,
    "HEADER_TXT": 25,
    "ConfirmationText": 40,
    "ReferenceDocument": 16,
    "MaterialDocumentHeaderText": 25,
    "BATCH": 10,
    "ABGRT": 40,
}
"""SAP field lengths the emitters respect."""


class CrossReference:
    """Golden id <-> SAP id for one field; None table = identity. Misses are located errors."""

    def __init__(self, field_name: str, pairs: Mapping[str, str] | None = None) -> None:
        self.field = field_name
        self._to_sap = dict(pairs) if pairs is not None else None
        self._to_golden = {v: k for k, v in pairs.items()} if pairs is not None else None

    def to_golden(self, sap_id: str, path: str) -> str:
        if self._to_golden is None:
            return sap_id
        if sap_id not in self._to_golden:
            raise invalid(path, "unknown-xref", f"no cross-reference for {SYSTEM} {self.field} {sap_id!r}")
        return self._to_golden[sap_id]

    def to_sap(self, golden: str, path: str) -> str:
        if self._to_sap is None:
            return golden
        if golden not in self._to_sap:
            raise invalid(path, "unknown-xref", f"no {SYSTEM} {self.field} for golden id {golden!r}")
        return self._to_sap[golden]


def _units(table: dict[str, str]) -> dict[str, str]:
    return dict(table)


@dataclass(frozen=True)
class SapMapping:
    """Everything a SAP translation needs to know about one SAP system and its plants."""

    system: str = "PRDCLNT100"
    own_partner: str = "PLANTWIRE"
    port: str = "SAPPRD"
    items: CrossReference = field(default_factory=lambda: CrossReference("MATNR"))
    plants: CrossReference = field(default_factory=lambda: CrossReference("WERKS"))
    locations: CrossReference = field(default_factory=lambda: CrossReference("LGORT"))
    suppliers: CrossReference = field(default_factory=lambda: CrossReference("LIFNR"))
    units_internal: dict[str, str] = field(default_factory=lambda: _units(UNITS_INTERNAL))
    units_iso: dict[str, str] = field(default_factory=lambda: _units(UNITS_ISO))
    units_odata: dict[str, str] = field(default_factory=lambda: _units(UNITS_ODATA))
    timezones: dict[str, str] = field(default_factory=lambda: {"1000": "Europe/Berlin"})
    default_timezone: str = "UTC"

    def zone(self, plant: str) -> str:
        """The IANA zone a plant's SAP dates and times are meant in."""
        return self.timezones.get(plant, self.default_timezone)

    @property
    def source(self) -> str:
        """CloudEvent source of events read from this SAP system."""
        return f"{SYSTEM}/{self.system}"


def unit_in(table: Mapping[str, str], code: str, path: str) -> str:
    """Canonical unit for a SAP unit code, or a located `unknown-unit` error."""
    try:
        return table[code]
    except KeyError:
        raise invalid(
            path, "unknown-unit", f"unit {code!r} is not mapped (known: {', '.join(sorted(table))})"
        ) from None


def unit_out(table: Mapping[str, str], canonical: str, path: str) -> str:
    """SAP unit code for a canonical unit (first entry wins), or a located `unknown-unit` error."""
    for code, unit in table.items():
        if unit == canonical:
            return code
    raise invalid(path, "unknown-unit", f"canonical unit {canonical!r} has no SAP code")
