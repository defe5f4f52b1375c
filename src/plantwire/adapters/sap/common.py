"""Readers that locate every problem: IDoc XML by XPath, OData JSON by JSON path; SAP number and date forms.

Both readers raise `InvalidEvent` with one `Issue(path, rule, message)`, where path is an XPath such as
``/LOIPRO01/IDOC/E1AFKOL/E1RESBL[2]/BDMNG`` or a JSON path such as ``$.d.to_MaterialDocumentItem[0]``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from plantwire.adapters._xml import local_name
from plantwire.domain.amounts import AmountError, parse_amount
from plantwire.errors import InvalidEvent, Issue

Json = dict[str, Any]


def invalid(path: str, rule: str, message: str) -> InvalidEvent:
    """An InvalidEvent with one located issue."""
    return InvalidEvent([Issue(path, rule, message)])


def number(text: str, path: str, *, positive: bool = False) -> Decimal:
    """A SAP number ("12.500", "3.000-" for minus) as an exact Decimal; bad numbers are located."""
    raw = text.strip()
    negative = raw.endswith("-")
    try:  # the numeric policy bounds exponent, digits and places before any Decimal arithmetic
        value = parse_amount(raw[:-1] if negative else raw)
    except AmountError as error:
        raise invalid(path, "number", f"not a number within the policy: {text[:40]!r}: {error} "
                      f"[{error.rule}]") from None
    value = -value if negative else value
    if positive and value <= 0:
        raise invalid(path, "positive", f"must be more than zero, got {text!r}")
    if value < 0:
        raise invalid(path, "non-negative", f"must not be negative, got {text!r}")
    return value


def plain(value: Decimal) -> str:
    """A Decimal written plainly, without exponent or trailing zeros ("20.000" -> "20")."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def dats(text: str, path: str) -> date:
    """A SAP DATS date (YYYYMMDD)."""
    try:
        return datetime.strptime(text.strip(), "%Y%m%d").date()
    except ValueError:
        raise invalid(path, "date", f"not a SAP date YYYYMMDD: {text!r}") from None


def tims(text: str | None, path: str) -> time:
    """A SAP TIMS time (HHMMSS); missing means midnight."""
    if not text:
        return time(0)
    try:
        return datetime.strptime(text.strip(), "%H%M%S").time()
    except ValueError:
        raise invalid(path, "time", f"not a SAP time HHMMSS: {text!r}") from None


def at(day: date, clock: time, zone: str) -> datetime:
    """A plant-local date and time as an aware datetime."""
    return datetime.combine(day, clock, ZoneInfo(zone))


def local(moment: datetime, zone: str) -> tuple[str, str]:
    """(YYYYMMDD, HHMMSS) of an aware datetime in the plant's zone."""
    there = moment.astimezone(ZoneInfo(zone))
    return dats_out(there.date()), there.strftime("%H%M%S")


def dats_out(day: date) -> str:
    """A date as SAP DATS (YYYYMMDD, the year always four digits)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def reference(key: str, length: int) -> str:
    """The key as a SAP reference field: itself when it fits as printable ASCII, else a stable hash."""
    if len(key) <= length and _PRINTABLE.match(key):
        return key
    return "PW" + hashlib.sha256(key.encode()).hexdigest()[: length - 2].upper()


def lookup(table: Mapping[str, str], value: str, path: str, what: str) -> str:
    """A value-map lookup whose miss names the value, the table and where the value was read."""
    try:
        return table[value]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise invalid(path, f"unknown-{what}", f"{what} {value!r} is not mapped (known: {known})") from None


# -- IDoc XML --------------------------------------------------------------------------------------
class Node:
    """An IDoc segment (or the control record) with its XPath, for located reads."""

    __slots__ = ("element", "path")

    def __init__(self, element: etree._Element, path: str) -> None:
        self.element, self.path = element, path

    @property
    def tag(self) -> str:
        return local_name(self.element.tag)

    def children(self, tag: str) -> list[Node]:
        """Every child segment called `tag`, each with its indexed XPath."""
        found = [e for e in self.element if local_name(e.tag) == tag]
        if len(found) == 1:
            return [Node(found[0], f"{self.path}/{tag}")]
        return [Node(e, f"{self.path}/{tag}[{i}]") for i, e in enumerate(found, 1)]

    def child(self, tag: str) -> Node:
        """The one mandatory child segment called `tag`."""
        found = self.children(tag)
        if not found:
            raise invalid(f"{self.path}/{tag}", "missing-segment", f"mandatory segment {tag} is missing")
        return found[0]

    def where(self, tag: str, field: str, value: str) -> Node | None:
        """The first child segment `tag` whose qualifier `field` equals `value`."""
        return next((n for n in self.children(tag) if n.get(field) == value), None)

    def get(self, field: str) -> str | None:
        """A field's trimmed text; None when absent or blank (IDocs omit empty fields)."""
        for e in self.element:
            if local_name(e.tag) == field:
                text = (e.text or "").strip()
                return text or None
        return None

    def req(self, field: str) -> str:
        """A mandatory field's text."""
        value = self.get(field)
        if value is None:
            raise invalid(f"{self.path}/{field}", "missing-field", f"mandatory field {field} is missing")
        return value

    def num(self, field: str, *, positive: bool = False) -> Decimal:
        """A mandatory numeric field."""
        return number(self.req(field), f"{self.path}/{field}", positive=positive)

    def date(self, field: str) -> date:
        """A mandatory DATS field."""
        return dats(self.req(field), f"{self.path}/{field}")

    def int(self, field: str) -> int:
        """A mandatory integer field such as an item number ("000010")."""
        text = self.req(field)
        if not text.isdigit():
            raise invalid(f"{self.path}/{field}", "integer", f"not an item number: {text!r}")
        return int(text)


def control_and_body(root: etree._Element, basic_types: tuple[str, ...]) -> tuple[Node, Node]:
    """The EDI_DC40 control record and the IDOC node of an IDoc XML document of one of `basic_types`."""
    name = local_name(root.tag)
    if name not in basic_types:
        raise invalid(
            f"/{name}", "idoc-type", f"expected an IDoc of type {' or '.join(basic_types)}, got {name}"
        )
    top = Node(root, f"/{name}")
    idoc = top.child("IDOC")
    control = idoc.child("EDI_DC40")
    declared = control.req("IDOCTYP")
    if declared != name:
        raise invalid(
            f"{control.path}/IDOCTYP", "idoc-type", f"control record says {declared}, root is {name}"
        )
    return control, idoc


def sub(
    parent: etree._Element, tag: str, fields: Mapping[str, object | None] | None = None, segment: bool = True
) -> etree._Element:
    """Append a segment (SEGMENT="1") with its non-empty fields, in the order given."""
    element = etree.SubElement(parent, tag)
    if segment:
        element.set("SEGMENT", "1")
    for field, value in (fields or {}).items():
        if value is not None and value != "":
            etree.SubElement(element, field).text = str(value)
    return element


def serialize(root: etree._Element) -> bytes:
    """The IDoc as UTF-8 XML bytes with a declaration."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# -- OData JSON ------------------------------------------------------------------------------------
class JsonNode:
    """A JSON object with its JSON path, for located reads of OData payloads."""

    __slots__ = ("obj", "path")

    def __init__(self, obj: Any, path: str) -> None:
        if not isinstance(obj, dict):
            raise invalid(path, "type", f"expected a JSON object, got {type(obj).__name__}")
        self.obj, self.path = obj, path

    def get(self, field: str) -> Any:
        value = self.obj.get(field)
        return None if value == "" else value

    def req(self, field: str) -> Any:
        value = self.get(field)
        if value is None:
            raise invalid(f"{self.path}.{field}", "missing-field", f"mandatory property {field} is missing")
        return value

    def text(self, field: str) -> str:
        value = self.req(field)
        if not isinstance(value, str | int):
            raise invalid(f"{self.path}.{field}", "type", f"{field} must be a string")
        return str(value)

    def num(self, field: str, *, positive: bool = False) -> Decimal:
        value = self.req(field)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid(f"{self.path}.{field}", "number", f"{field} must be a number")
        return number(
            repr(value) if isinstance(value, float) else str(value), f"{self.path}.{field}", positive=positive
        )

    def many(self, field: str) -> list[JsonNode]:
        """A navigation property's entities: V2 {"results": [...]} or V4 / deep-insert [...]."""
        value, path = self.obj.get(field) or [], f"{self.path}.{field}"
        if isinstance(value, dict):
            value, path = value.get("results", []), f"{path}.results"
        if not isinstance(value, list):
            raise invalid(path, "type", f"{field} must be a list of entities")
        return [JsonNode(v, f"{path}[{i}]") for i, v in enumerate(value)]


_PRINTABLE = re.compile(r"^[!-~](?:[ -~]*[!-~])?$")
_V2_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def odata_date(value: Any, path: str) -> date:
    """An Edm.DateTime (V2 "/Date(ms)/") or Edm.Date (V4 "2026-11-27") as a date."""
    if isinstance(value, str):
        match = _V2_DATE.match(value)
        if match:
            return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise invalid(path, "date", f"not an OData date: {value!r}")


def odata_time(value: Any, path: str) -> time:
    """An Edm.Time (V2 "PT14H30M00S") or Edm.TimeOfDay (V4 "14:30:00") as a time."""
    if value is None:
        return time(0)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            h, m, s = (int(g or 0) for g in match.groups())
            if h < 24 and m < 60 and s < 60:
                return time(h, m, s)
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise invalid(path, "time", f"not an OData time: {value!r}")


def v2_date(day: date) -> str:
    """A date as OData V2 Edm.DateTime ("/Date(ms)/", midnight UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    ms = (datetime.combine(day, time(0), UTC) - epoch) // timedelta(milliseconds=1)
    return f"/Date({ms})/"


def v2_time(clock: time) -> str:
    """A time as OData V2 Edm.Time."""
    return f"PT{clock.hour:02d}H{clock.minute:02d}M{clock.second:02d}S"
