"""Reading and writing X12 values: dates and times, decimals, parties, product ids and loops.

Pure helpers for ``translate``; every failure is an ``InvalidEvent`` located at the segment.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal

from plantwire.adapters.x12.mapping import ITEM_QUALIFIERS, NOT_ITEMS
from plantwire.adapters.x12.tokenizer import Problem, Segment
from plantwire.domain.amounts import AmountError, parse_amount
from plantwire.errors import InvalidEvent

UTC_CODES = frozenset({"UT", "GM", "Z"})
"""DTM04 time codes meaning universal time."""


def fail(segment: Segment, element: int | None, message: str) -> InvalidEvent:
    """An InvalidEvent located at a segment (and element) of the file."""
    return InvalidEvent([Problem(segment.number, segment.id, segment.line, element, "map", message).issue()])


def need(segment: Segment, position: int, what: str) -> str:
    """Element `position`, or InvalidEvent when it is empty."""
    value = segment.get(position)
    if not value.strip():
        raise fail(segment, position, f"{segment.id}{position:02d} ({what}) is required for the mapping")
    return value.strip()


def to_date(segment: Segment, position: int) -> date:
    """A CCYYMMDD (or YYMMDD) element as a date."""
    value = segment.get(position)
    try:
        if len(value) == 6:
            return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]))
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise fail(segment, position, f"{value!r} is not a date") from None


def to_time(segment: Segment, position: int) -> time:
    """An HHMM[SS] element as a time (00:00 when empty)."""
    value = segment.get(position)
    if not value:
        return time(0, 0)
    try:
        return time(int(value[:2]), int(value[2:4]), int(value[4:6] or 0))
    except ValueError:
        raise fail(segment, position, f"{value!r} is not a time") from None


def moment(segment: Segment, date_at: int, time_at: int, zone: tzinfo,
           code_at: int | None = None) -> datetime:
    """The date and time elements of a segment as an aware datetime (UT codes mean UTC)."""
    code = segment.get(code_at) if code_at else ""
    tz = UTC if code in UTC_CODES else zone
    return datetime.combine(to_date(segment, date_at), to_time(segment, time_at), tzinfo=tz)


def decimal(segment: Segment, position: int, what: str) -> Decimal:
    """A numeric element as an exact Decimal."""
    value = need(segment, position, what)
    try:  # the numeric policy bounds exponent, digits and places before any Decimal arithmetic
        return parse_amount(value)
    except AmountError as error:
        raise fail(segment, position, f"{what} {value[:40]!r} is not a number within the policy: "
                   f"{error} [{error.rule}]") from None


def number(value: Decimal) -> str:
    """A Decimal as X12 writes an R value: no exponent, no trailing zeros after the point."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def ymd(day: date) -> str:
    """A date as CCYYMMDD."""
    return day.strftime("%Y%m%d")


def utc_stamp(at: datetime) -> tuple[str, str]:
    """(CCYYMMDD, HHMMSS) of an aware datetime in UTC."""
    utc = at.astimezone(UTC)
    return utc.strftime("%Y%m%d"), utc.strftime("%H%M%S")


def pairs(segment: Segment, first: int) -> dict[str, str]:
    """Qualifier/value pairs from element `first` on (first occurrence of each qualifier wins)."""
    out: dict[str, str] = {}
    for i in range(first, len(segment.elements) + 1, 2):
        qualifier, value = segment.get(i), segment.get(i + 1).strip()
        if qualifier and value and qualifier not in out:
            out[qualifier] = value
    return out


def item_id(ids: dict[str, str]) -> str | None:
    """The item id from product id pairs, by the trusted qualifier order, else the first item-like id."""
    for qualifier in ITEM_QUALIFIERS:
        if qualifier in ids:
            return ids[qualifier]
    return next((v for q, v in ids.items() if q not in NOT_ITEMS), None)


def loops(body: Sequence[Segment], start: str, ends: frozenset[str]) -> Iterator[list[Segment]]:
    """Each loop beginning with a `start` segment, up to the next start or an end segment."""
    current: list[Segment] | None = None
    for segment in body:
        if segment.id == start:
            if current:
                yield current
            current = [segment]
        elif segment.id in ends:
            if current:
                yield current
            current = None
        elif current is not None:
            current.append(segment)
    if current:
        yield current


def first(segments: Sequence[Segment], seg_id: str, qualifier: str | None = None) -> Segment | None:
    """The first segment with this id (and element 1 equal to `qualifier`, when given)."""
    for segment in segments:
        if segment.id == seg_id and (qualifier is None or segment.get(1) == qualifier):
            return segment
    return None


def parties(segments: Sequence[Segment]) -> dict[str, str]:
    """N1 entity code -> its id (N104), or its name (N102) when no id is given; first of each wins."""
    out: dict[str, str] = {}
    for segment in segments:
        if segment.id == "N1":
            who = (segment.get(4) or segment.get(2)).strip()
            if who and segment.get(1) not in out:
                out[segment.get(1)] = who
    return out


def pick(found: dict[str, str], codes: Sequence[str]) -> str | None:
    """The first of `codes` present in `found`."""
    return next((found[c] for c in codes if c in found), None)


def line_numbers(values: Sequence[str]) -> list[int]:
    """The documents' own line numbers when all are distinct 1..999999, else 1, 2, 3, ..."""
    numbers = [int(v) if v.isdigit() else 0 for v in values]
    if all(0 < n <= 999_999 for n in numbers) and len(set(numbers)) == len(numbers):
        return numbers
    return list(range(1, len(values) + 1))
