"""Reading and writing EDIFACT field values: dates (DTM 2379 formats), numbers, parties, references.

Pure helpers for translate.py. A problem raises InvalidEvent whose path locates the segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import TypeVar

from plantwire.adapters.edifact.envelope import Message
from plantwire.adapters.edifact.syntax import Document, Segment, locate
from plantwire.domain.amounts import AmountError, parse_amount
from plantwire.errors import InvalidEvent, Issue

T = TypeVar("T")

__all__ = ["Reader", "amount", "day", "edi_date", "edi_datetime", "number", "stamp"]

FORMATS = {"102": "%Y%m%d", "203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S", "101": "%y%m%d"}


class Reader:
    """Finds segments of one message (or a slice of it) and raises located issues."""

    def __init__(self, doc: Document | None, msg: Message, segments: Sequence[Segment] | None = None) -> None:
        self.doc, self.msg = doc, msg
        self.segments = tuple(segments if segments is not None else msg.body)

    def sub(self, segments: Sequence[Segment]) -> Reader:
        """A reader over a slice (a line group) of the same message."""
        return Reader(self.doc, self.msg, segments)

    def where(self, seg: Segment, element: int | None = None, component: int | None = None) -> str:
        if self.doc is None:
            return f"segment {seg.number} ({seg.tag})"
        return locate(self.doc.text, seg, element, component)

    def fail(self, seg: Segment | None, rule: str, text: str, element: int | None = None) -> InvalidEvent:
        at = seg or (self.segments[0] if self.segments else self.msg.segments[0])
        return InvalidEvent([Issue(self.where(at, element), rule, text)])

    def all(self, tag: str, qualifier: str | None = None) -> list[Segment]:
        """Every segment with this tag (and first component of element 1, when given)."""
        return [s for s in self.segments if s.tag == tag and (qualifier is None or s.get(1) == qualifier)]

    def first(self, tag: str, qualifiers: Iterable[str] | None = None) -> Segment | None:
        """The first segment with this tag, trying qualifiers in order of preference."""
        if qualifiers is None:
            found = self.all(tag)
            return found[0] if found else None
        for q in qualifiers:
            found = self.all(tag, q)
            if found:
                return found[0]
        return None

    def text(self, tag: str, qualifiers: Iterable[str], element: int, component: int = 1) -> str | None:
        """A value of the first matching segment, or None."""
        seg = self.first(tag, qualifiers)
        value = seg.get(element, component).strip() if seg else ""
        return value or None

    def need(self, value: T | None, tag: str, what: str) -> T:
        """`value`, or a located issue saying which segment should have carried it."""
        if value is None:
            raise self.fail(None, "missing-" + tag.lower(), f"no {tag} gives the {what}")
        return value

    def party(self, *qualifiers: str) -> str | None:
        """The id (C082 3039) of the first NAD with one of these party qualifiers."""
        return self.text("NAD", qualifiers, 2, 1)

    def dtm(self, *qualifiers: str, tz: tzinfo = UTC) -> datetime | None:
        """The first DTM with one of these qualifiers as an aware datetime."""
        seg = self.first("DTM", qualifiers)
        return edi_datetime(seg, self, tz) if seg else None

    def reference(self, qualifier: str) -> tuple[str | None, str | None]:
        """RFF reference number and line number (C506 1154, 1156)."""
        seg = self.first("RFF", [qualifier])
        if seg is None:
            return None, None
        return seg.get(1, 2) or None, seg.get(1, 3) or None


def edi_datetime(seg: Segment, r: Reader, tz: tzinfo = UTC) -> datetime:
    """DTM C507 (2005 qualifier, 2380 value, 2379 format) as an aware datetime; zone-less is `tz`."""
    value, fmt = seg.get(1, 2), seg.get(1, 3) or "102"
    try:
        if fmt in ("303", "304"):
            base, zone = value[:-3], value[-3:]
            parsed = datetime.strptime(base, FORMATS["203" if fmt == "303" else "204"])
            return parsed.replace(tzinfo=timezone(timedelta(hours=int(zone))))
        if fmt == "102" and len(value) in (12, 14) and value.isdigit():
            fmt = "203" if len(value) == 12 else "204"  # senders write times under 102; the length decides
        return datetime.strptime(value, FORMATS[fmt]).replace(tzinfo=tz)
    except (KeyError, ValueError):
        raise r.fail(seg, "dtm", f"date/time {value!r} is not valid in format {fmt!r} "
                     "(supported: 101, 102, 203, 204, 303, 304)", 1) from None


def edi_date(seg: Segment, r: Reader, tz: tzinfo = UTC) -> date:
    """DTM as a calendar date."""
    return edi_datetime(seg, r, tz).date()


def number(seg: Segment, r: Reader, element: int, component: int) -> Decimal:
    """A numeric value; ISO 9735 allows comma or full stop as the decimal mark."""
    raw = seg.get(element, component).strip()
    try:  # the numeric policy bounds exponent, digits and places before any Decimal arithmetic
        return parse_amount(raw.replace(",", "."))
    except AmountError as error:
        raise r.fail(seg, "number", f"{raw[:40]!r} is not a number within the policy: {error} "
                     f"[{error.rule}]", element) from None


def amount(value: Decimal) -> str:
    """A Decimal as EDIFACT writes numbers: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f") if value else "0"
    return text


def stamp(qualifier: str, at: datetime) -> Segment:
    """A DTM for an aware time, written in UTC as format 204 (CCYYMMDDHHMMSS)."""
    return Segment("DTM", (((qualifier, at.astimezone(UTC).strftime("%Y%m%d%H%M%S"), "204"),),))


def day(qualifier: str, value: date) -> Segment:
    """A DTM for a calendar date, format 102 (CCYYMMDD)."""
    return Segment("DTM", (((qualifier, value.strftime("%Y%m%d"), "102"),),))
