"""Segment and element definitions of the X12 sets we read and write, kept as data.

Element types and lengths are pyx12's data-element dictionary (``corpus/x12/definitions/pyx12/
dataele.xml``, X12 004010); the few elements it lacks carry the 004010 dictionary values (marked).
Segment layouts and mandatory flags follow StAEDI's 850/810/997 schemas (``definitions/staedi``) and
the 004010 standard for 855/856 segments, which StAEDI does not ship. ``tests/formats/test_x12_
definitions.py`` re-derives what the corpus files define and checks this table against them.

A layout is one string: element references in position order, ``!`` marks a mandatory element and
``-`` a position we do not type-check.
"""

from __future__ import annotations

from dataclasses import dataclass

ELEMENTS: dict[str, tuple[str, int, int]] = {
    # from pyx12 dataele.xml
    "479": ("ID", 2, 2), "142": ("AN", 2, 15), "124": ("AN", 2, 15), "373": ("DT", 8, 8),
    "337": ("TM", 4, 8), "28": ("N0", 1, 9), "455": ("ID", 1, 2), "480": ("AN", 1, 12),
    "97": ("N0", 1, 6), "143": ("ID", 3, 3), "329": ("AN", 4, 9), "1705": ("AN", 1, 35),
    "96": ("N0", 1, 10), "353": ("ID", 2, 2), "324": ("AN", 1, 22), "328": ("AN", 1, 30),
    "367": ("AN", 1, 30), "98": ("ID", 2, 3), "100": ("ID", 3, 3), "280": ("R", 4, 10),
    "669": ("ID", 3, 3), "374": ("ID", 3, 3), "128": ("ID", 2, 3), "127": ("AN", 1, 50),
    "352": ("AN", 1, 80), "623": ("ID", 2, 2), "1250": ("ID", 2, 3), "1251": ("AN", 1, 35),
    "93": ("AN", 1, 60), "66": ("ID", 1, 2), "67": ("AN", 2, 80), "706": ("ID", 2, 2),
    "350": ("AN", 1, 20), "355": ("ID", 2, 2), "212": ("R", 1, 17), "639": ("ID", 2, 2),
    "235": ("ID", 2, 2), "234": ("AN", 1, 48), "354": ("N0", 1, 6), "347": ("R", 1, 10),
    "81": ("R", 1, 10), "183": ("R", 1, 8), "522": ("ID", 1, 3), "782": ("R", 1, 18),
    "478": ("ID", 1, 1), "380": ("R", 1, 15), "559": ("ID", 2, 2), "822": ("AN", 1, 15),
    "1271": ("AN", 1, 30), "1005": ("ID", 4, 4), "640": ("ID", 2, 2), "628": ("AN", 1, 12),
    "734": ("AN", 1, 12), "735": ("ID", 1, 2), "736": ("ID", 1, 1), "358": ("R", 1, 15),
    "610": ("N2", 1, 15), "721": ("ID", 2, 3), "719": ("N0", 1, 6), "447": ("AN", 1, 4),
    "720": ("ID", 1, 3), "725": ("N0", 1, 4), "723": ("ID", 1, 3), "724": ("AN", 1, 99),
    "717": ("ID", 1, 1), "718": ("ID", 1, 3), "715": ("ID", 1, 1), "123": ("N0", 1, 6),
    "2": ("N0", 1, 6), "716": ("ID", 1, 3), "306": ("ID", 1, 2), "309": ("ID", 1, 2),
    "310": ("AN", 1, 30),
    # not in pyx12's dictionary: X12 004010 values
    "92": ("ID", 2, 2), "587": ("ID", 2, 2), "330": ("R", 1, 15), "668": ("ID", 2, 2),
    "326": ("AN", 1, 45), "396": ("AN", 2, 30), "382": ("R", 1, 10), "646": ("R", 1, 15),
    "88": ("ID", 1, 2), "87": ("AN", 1, 48), "76": ("AN", 1, 22), "91": ("ID", 1, 2),
    "133": ("ID", 1, 2), "327": ("AN", 1, 8), "1019": ("ID", 2, 2),
}
"""Data element number -> (X12 type, minimum length, maximum length)."""

_PAIRS = " 235 234"

LAYOUTS: dict[str, str] = {
    "GS": "479! 142! 124! 373! 337! 28! 455! 480!",
    "GE": "97! 28!",
    "ST": "143! 329! 1705",
    "SE": "96! 329!",
    "BEG": "353! 92! 324! 328 373! 367 587 1019 - - - -",
    "BAK": "353! 587! 324! 373! 328 326 367 127 373 640 1019 -",
    "BSN": "353! 396! 373! 337! 1005 640 -",
    "BIG": "373! 76! 373 324 328 - 640 353 306 76",
    "CUR": "98! 100! 280 98 100 669" + " 374 373 337" * 5,
    "REF": "128! 127 352 -",
    "DTM": "374! 373 337 623 1250 1251",
    "N1": "98! 93 66 67 706 98",
    "PO1": "350 330 355 212 639" + _PAIRS * 10,
    "ACK": "668! 380 355 374 373 326" + _PAIRS * 10 + " 559 822 1271",
    "SCH": "380! 355! 98 93 374! 373! 337 374 373 337 326 350",
    "HL": "628! 734 735! 736",
    "LIN": "350 235! 234!" + _PAIRS * 14,
    "SN1": "350 382! 355! 646 330 355 - 668",
    "PRF": "324! 328 - 373 367 92 -",
    "MAN": "88! 87! 87 88 87 87",
    "TD5": "133 66 67 91 - - 309 310 - - - - - - -",
    "IT1": "350 358 355 212 639" + _PAIRS * 10,
    "TDS": "610! 610 610 610",
    "CTT": "354! 347 81 355 183 355 352",
    "AMT": "522! 782! 478",
    "AK1": "479! 28! 480",
    "AK2": "143! 329! 1705",
    "AK3": "721! 719! 447 720",
    "AK4": "-! 725 723! 724",
    "AK5": "717! 718 718 718 718 718",
    "AK9": "715! 97! 123! 2! 716 716 716 716 716",
}
"""Segment id -> element layout (see the module docstring)."""

_KNOWN = (
    # every segment StAEDI's 850/810/997 and pyx12's 830/997 maps define ...
    "AK1 AK2 AK3 AK4 AK5 AK9 AMT ATH BAL BEG BFR BIG CAD CRC CSH CTB CTP CTT CUR DIS DMG DTM FA1 FA2 "
    "FOB FST GE GS IEA INC ISA ISB ISE ISS ISX IT1 IT3 IT8 ITD L7 LDT LIN LM LQ MAN MEA MSG N1 N2 N3 "
    "N4 N9 NTE NX2 PAM PER PID PKG PO1 PO3 PO4 PWK QTY R4 REF SAC SCH SDQ SE SHP SI SLN SR ST TA1 TAX "
    "TC2 TD1 TD3 TD4 TD5 TDS TXI UIT V1 YNQ "
    # ... and the 855/856/830 segments of the 004010 standard they lack
    "ACK BAK BSN HL PRF SDP SN1 CLD PAL PSD TSD ETD"
)
KNOWN_SEGMENTS = frozenset(_KNOWN.split())
"""Segment ids we recognise; any other id is an unrecognised segment (997 AK3 code 1)."""

SET_GROUPS = {"850": "PO", "855": "PR", "856": "SH", "810": "IN", "997": "FA", "830": "PS"}
"""The transaction sets we accept, with the functional group (GS01) each belongs in."""

VERSIONS = (3010, 5099)
"""GS08 versions we accept (first six digits): the definitions we hold run from 003040 to 005010."""

HEADERS = {"850": "BEG", "855": "BAK", "856": "BSN", "810": "BIG", "997": "AK1", "830": "BFR"}
"""The beginning segment that must follow ST in each set."""


@dataclass(frozen=True, slots=True)
class ElementDef:
    """One position of a segment: its data element number (or None) and whether it is mandatory."""

    ref: str | None
    mandatory: bool


def _layout(text: str) -> tuple[ElementDef, ...]:
    out = []
    for token in text.split():
        ref = token.rstrip("!")
        out.append(ElementDef(None if ref == "-" else ref, token.endswith("!")))
    return tuple(out)


SEGMENTS: dict[str, tuple[ElementDef, ...]] = {sid: _layout(text) for sid, text in LAYOUTS.items()}
"""Segment id -> its element definitions, position 1 first."""
