"""Content checks of received sets against the segment definitions, as 997 AK3/AK4/AK5 codes.

Segment codes (AK304, element 720): 1 unrecognised segment id, 2 unexpected segment, 3 mandatory
segment missing, 7 not in proper sequence, 8 segment has data element errors. Element codes (AK403,
element 723): 1 mandatory missing, 3 too many elements, 4 too short, 5 too long, 6 invalid character,
7 invalid code value, 8 invalid date, 9 invalid time. Set codes (AK5, 718): 1 not supported,
2 trailer missing, 3 control numbers differ, 4 segment count wrong, 5 segments in error, 6 invalid set id.
"""

from __future__ import annotations

import re
from datetime import date

from plantwire.adapters.x12.envelope import Interchange, TransactionSet, read
from plantwire.adapters.x12.segments import (
    ELEMENTS,
    HEADERS,
    KNOWN_SEGMENTS,
    SEGMENTS,
    SET_GROUPS,
    VERSIONS,
)
from plantwire.adapters.x12.tokenizer import Problem, Segment
from plantwire.errors import InvalidEvent

_INTEGER = re.compile(r"-?[0-9]+")
_REAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse(data: bytes) -> list[Interchange]:
    """Read and check a file; raise InvalidEvent listing every located problem when anything is wrong."""
    interchanges = read(data)
    problems = [p for ic in interchanges for p in check_interchange(ic)]
    if problems:
        raise InvalidEvent([p.issue() for p in problems])
    return interchanges


def check_interchange(ic: Interchange) -> list[Problem]:
    """Check every set of every group (recording problems on them); return all problems, file order."""
    for group in ic.groups:
        version = _version(group.version)
        if not VERSIONS[0] <= version <= VERSIONS[1]:
            group.codes.append("2")
            gs = group.header
            group.problems.append(Problem(gs.number, "GS", gs.line, 8, "2", f"version {group.version!r} is "
                                          "not supported (003010 to 005010)", group.version))
            continue
        for tset in group.sets:
            check_set(tset, group.functional_id, version < 4010)
    return ic.all_problems()


def _version(text: str) -> int:
    digits = text[:6]
    return int(digits) if digits.isdigit() else 0


def check_set(tset: TransactionSet, functional_id: str, old_dates: bool) -> None:
    """Record the set's problems: support, header segment, each segment's elements, HL tree."""
    st = tset.segments[0]
    if tset.id not in SET_GROUPS:
        tset.codes.append("1")
        tset.problems.append(Problem(st.number, "ST", st.line, 1, "7", f"transaction set {tset.id!r} "
                                     f"is not supported (850, 855, 856, 810, 997, 830)", tset.id))
        return
    if SET_GROUPS[tset.id] != functional_id:
        tset.codes.append("6")
        tset.problems.append(Problem(st.number, "ST", st.line, 1, "7", f"a {tset.id} does not belong in "
                                     f"a {functional_id!r} group", tset.id))
    if not 4 <= len(tset.control) <= 9:
        tset.codes.append("7")
    body = tset.body
    header = HEADERS[tset.id]
    if not body or body[0].id != header:
        at = body[0] if body else st
        tset.problems.append(Problem(at.number, header, at.line, None, "3",
                                     f"the {tset.id} must begin with {header} after ST"))
    for segment in tset.segments:
        check_segment(segment, old_dates, tset.problems)
    if tset.id == "856":
        check_hierarchy(body, tset.problems)
    if tset.problems and "5" not in tset.codes:
        tset.codes.append("5")


def check_segment(segment: Segment, old_dates: bool, problems: list[Problem]) -> None:
    """Check one segment's id and elements against its definition."""
    def add(element: int | None, code: str, message: str, bad: str = "") -> None:
        problems.append(Problem(segment.number, segment.id, segment.line, element, code, message, bad))

    if segment.id not in KNOWN_SEGMENTS:
        add(None, "1", f"unrecognised segment id {segment.id!r}")
        return
    layout = SEGMENTS.get(segment.id)
    if layout is None:
        return
    if len(segment.elements) > len(layout):
        add(len(layout) + 1, "3", f"{segment.id} has {len(segment.elements)} elements; at most "
            f"{len(layout)}", segment.elements[len(layout)])
    for position, definition in enumerate(layout, start=1):
        value = segment.get(position)
        if not value:
            if definition.mandatory:
                add(position, "1", f"mandatory element {segment.id}{position:02d} is missing")
            continue
        if definition.ref is not None:
            found = check_value(value, *ELEMENTS[definition.ref], old_dates=old_dates)
            if found:
                add(position, found[0], f"{segment.id}{position:02d} (element {definition.ref}): "
                    f"{found[1]}", value)


def check_value(value: str, kind: str, low: int, high: int, old_dates: bool = False
                ) -> tuple[str, str] | None:
    """(997 code, reason) when `value` is not a valid X12 `kind` of length low..high, else None."""
    if _CONTROL.search(value):
        return "6", f"control character in {value[:30]!r}"
    if kind == "DT":
        return None if _valid_date(value, old_dates) else ("8", f"invalid date {value!r}")
    if kind == "TM":
        return None if _valid_time(value) else ("9", f"invalid time {value!r}")
    size = len(value)
    if kind[0] == "N":
        if not _INTEGER.fullmatch(value):
            return "6", f"{value!r} is not an integer"
        size = len(value.lstrip("-"))
    elif kind == "R":
        if not _REAL.fullmatch(value):
            return "6", f"{value!r} is not a decimal number"
        size = len(value.lstrip("-").replace(".", ""))
    if size < low:
        return "4", f"{value!r} is shorter than {low}"
    if size > high:
        return "5", f"{value!r} is longer than {high}"
    return None


def _valid_date(value: str, old_dates: bool) -> bool:
    if not value.isdigit() or len(value) not in ((6, 8) if old_dates else (8,)):
        return False
    year = int(value[:4]) if len(value) == 8 else 2000 + int(value[:2])
    try:
        date(year, int(value[-4:-2]), int(value[-2:]))
    except ValueError:
        return False
    return True


def _valid_time(value: str) -> bool:
    return (value.isdigit() and 4 <= len(value) <= 8 and int(value[:2]) < 24 and int(value[2:4]) < 60
            and (len(value) < 6 or int(value[4:6]) < 60))


def check_hierarchy(body: list[Segment], problems: list[Problem]) -> None:
    """856 HL tree: ids unique, each parent an earlier HL, the first level the shipment (S)."""
    seen: set[str] = set()
    first = True
    for segment in body:
        if segment.id != "HL":
            continue
        hl_id, parent, level = segment.get(1), segment.get(2), segment.get(3)
        if first and (parent or level != "S"):
            problems.append(Problem(segment.number, "HL", segment.line, 3, "7",
                                    f"the first HL must be the shipment level S without a parent, got "
                                    f"level {level!r} parent {parent!r}", level))
        first = False
        if hl_id in seen:
            problems.append(Problem(segment.number, "HL", segment.line, 1, "7",
                                    f"HL01 {hl_id!r} is used twice", hl_id))
        if parent and parent not in seen:
            problems.append(Problem(segment.number, "HL", segment.line, 2, "7",
                                    f"HL02 parent {parent!r} is not an earlier HL", parent))
        seen.add(hl_id)
