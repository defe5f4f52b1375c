"""Located reads of ERP REST and OData JSON (JSON paths in every error), numbers and dates.

Shared by the Oracle Fusion and Dynamics 365 packs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from plantwire.domain.amounts import AmountError, amount_from_json
from plantwire.errors import InvalidEvent, Issue


def invalid(path: str, rule: str, message: str) -> InvalidEvent:
    """An InvalidEvent with one located issue."""
    return InvalidEvent([Issue(path, rule, message)])


def plain(value: Decimal) -> str:
    """A Decimal written plainly, without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def lookup(table: Mapping[str, str], value: str, path: str, what: str) -> str:
    """A value-map lookup whose miss names the value, the table and the path it was read from."""
    try:
        return table[value]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise invalid(path, f"unknown-{what}", f"{what} {value!r} is not mapped (known: {known})") from None


class JsonNode:
    """A JSON object with its JSON path; field names come from the pack's field map."""

    __slots__ = ("obj", "path")

    def __init__(self, obj: Any, path: str) -> None:
        if not isinstance(obj, dict):
            raise invalid(path, "type", f"expected a JSON object, got {type(obj).__name__}")
        self.obj, self.path = obj, path

    def at(self, name: str) -> str:
        return f"{self.path}.{name}"

    def get(self, name: str) -> Any:
        value = self.obj.get(name)
        return None if value == "" else value

    def req(self, name: str) -> Any:
        value = self.get(name)
        if value is None:
            raise invalid(self.at(name), "missing-field", f"mandatory attribute {name} is missing")
        return value

    def text(self, name: str) -> str:
        value = self.req(name)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise invalid(self.at(name), "type", f"{name} must be a string")
        return str(value)

    def num(self, name: str, *, positive: bool = False) -> Decimal:
        value = self.req(name)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid(self.at(name), "number", f"{name} must be a number")
        try:  # the numeric policy: exact, bounded before any Decimal arithmetic
            number = amount_from_json(value.strip() if isinstance(value, str) else value)
        except AmountError as error:
            raise invalid(self.at(name), "number", f"not a number within the policy: {str(value)[:40]!r}: "
                          f"{error} [{error.rule}]") from None
        if number < 0 or (positive and number == 0):
            raise invalid(
                self.at(name), "positive" if positive else "non-negative", f"bad quantity {value!r}"
            )
        return number

    def int(self, name: str) -> int:
        value = self.num(name)
        if value != value.to_integral_value():
            raise invalid(self.at(name), "integer", f"{name} must be a whole number")
        return int(value)

    def date(self, name: str) -> date:
        value = self.req(name)
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise invalid(self.at(name), "date", f"not an ISO date: {value!r}") from None

    def moment(self, name: str) -> datetime:
        value = self.req(name)
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise invalid(self.at(name), "datetime", f"not an ISO timestamp: {value!r}") from None
        if parsed.tzinfo is None:
            raise invalid(self.at(name), "datetime", f"timestamp without offset: {value!r}")
        return parsed

    def many(self, name: str) -> list[JsonNode]:
        """A child collection: an array, or {"items": [...]} as a child resource GET answers."""
        value = self.obj.get(name) or []
        if isinstance(value, dict):
            value = value.get("items", value.get("value", []))
        if not isinstance(value, list):
            raise invalid(self.at(name), "type", f"{name} must be a list")
        return [JsonNode(v, f"{self.path}.{name}[{i}]") for i, v in enumerate(value)]


def rows(body: Any) -> list[JsonNode]:
    """The items of a collection body ({"items": [...]} in Oracle, {"value": [...]} in OData) or one item."""
    if isinstance(body, dict):
        for key in ("items", "value"):
            if isinstance(body.get(key), list):
                return [JsonNode(r, f"$.{key}[{i}]") for i, r in enumerate(body[key])]
    return [JsonNode(body, "$")]


class CrossReference:
    """Golden id <-> a system's id for one field; None table = identity. Misses are located errors."""

    def __init__(self, system: str, name: str, pairs: Mapping[str, str] | None = None) -> None:
        self.system, self.name = system, name
        self._out = dict(pairs) if pairs is not None else None
        self._in = {v: k for k, v in pairs.items()} if pairs is not None else None

    def to_golden(self, value: str, path: str) -> str:
        """The golden id of a system id; an unknown one is a located unknown-xref error."""
        if self._in is None:
            return value
        if value not in self._in:
            raise invalid(path, "unknown-xref", f"no cross-reference for {self.system} {self.name} {value!r}")
        return self._in[value]

    def to_system(self, golden: str, path: str) -> str:
        """The system id of a golden id; an unknown one is a located unknown-xref error."""
        if self._out is None:
            return golden
        if golden not in self._out:
            raise invalid(path, "unknown-xref", f"no {self.system} {self.name} for golden id {golden!r}")
        return self._out[golden]
