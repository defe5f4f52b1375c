"""Exact quantities, units of measure and unit conversion for the canonical model.

Amounts are `Decimal` end to end: JSON numbers and strings are accepted, JSON output is a
string, and arithmetic never passes through `float`. What an amount may be is the numeric policy
of domain/amounts.py; the amount types here apply it to every input.
"""

from __future__ import annotations

import decimal
from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError, PydanticKnownError

from plantwire.domain.amounts import (
    MAX_INTEGER_DIGITS,
    MAX_SCALE,
    AmountError,
    amount_from_json,
    check_amount,
    parse_amount,
)

__all__ = [
    "MAX_INTEGER_DIGITS",
    "MAX_SCALE",
    "READS_AMOUNT_TEXT",
    "Amount",
    "CanonicalModel",
    "Dimension",
    "DomainError",
    "NonNegativeAmount",
    "NonNegativeQuantity",
    "PositiveAmount",
    "PositiveQuantity",
    "Quantity",
    "UnitOfMeasure",
    "UnknownConversion",
    "UomCode",
    "UomConversion",
    "amount_json_schema",
    "convert",
]


class DomainError(ValueError):
    """A business rule of the canonical model was broken."""


class UnknownConversion(DomainError):
    """No declared conversion links two units of measure (for this item)."""


class CanonicalModel(BaseModel):
    """Base of every canonical model: immutable, and unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _amount_input(value: Any) -> Decimal:
    """Any input of an amount field read by the numeric policy (domain/amounts.py), as pydantic's
    error: the rule (e.g. decimal_parsing, decimal_max_places) and what is wrong."""
    try:
        if type(value) is str:  # the usual case, first: amounts travel as JSON strings
            return parse_amount(value)
        return amount_from_json(value)
    except AmountError as bad:
        raise PydanticCustomError(bad.rule, str(bad)) from None


READS_AMOUNT_TEXT = frozenset({_amount_input})
"""Before-validators that read a JSON string exactly as amounts.parse_amount does (the ingest hot
path calls parse_amount itself instead; service/structs.py)."""


_DIGITS = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"


def amount_json_schema(
    *, minimum: int | None = None, exclusive: bool = False, below: int | None = None
) -> dict[str, Any]:
    """JSON Schema of an amount: a JSON number or a decimal string, with optional bounds."""
    number: dict[str, Any] = {"type": "number"}
    sign = "[+-]?"
    if minimum is not None:
        number["exclusiveMinimum" if exclusive else "minimum"] = minimum
        sign = r"\+?(?=[^eE]*[1-9])" if exclusive and minimum == 0 else r"\+?"
    if below is not None:
        number["exclusiveMaximum"] = below
    string = {"type": "string", "pattern": f"^{sign}{_DIGITS}$"}
    return {"anyOf": [number, string]}


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount_input),
    WithJsonSchema(amount_json_schema()),
]
"""An exact, finite decimal amount within the numeric policy (may be negative, e.g. an adjustment)."""


def _non_negative(value: Decimal) -> Decimal:
    """Zero or more, as pydantic's own error (the value is already bounded, so compares exactly)."""
    if value < 0:
        raise PydanticKnownError("greater_than_equal", {"ge": 0})
    return value


def _positive(value: Decimal) -> Decimal:
    """More than zero, as pydantic's own error."""
    if value <= 0:
        raise PydanticKnownError("greater_than", {"gt": 0})
    return value


NonNegativeAmount = Annotated[
    Decimal,
    BeforeValidator(_amount_input),
    AfterValidator(_non_negative),
    WithJsonSchema(amount_json_schema(minimum=0)),
]
"""An exact amount that is zero or more."""

PositiveAmount = Annotated[
    Decimal,
    BeforeValidator(_amount_input),
    AfterValidator(_positive),
    WithJsonSchema(amount_json_schema(minimum=0, exclusive=True)),
]
"""An exact amount that is more than zero."""

UomCode = Annotated[
    str, StringConstraints(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_%./-]+$")
]
"""A unit of measure code as the systems send it, e.g. EA, KG, M2, %."""


class Quantity(CanonicalModel):
    """An exact amount in a unit of measure."""

    value: Amount
    uom: UomCode


class NonNegativeQuantity(Quantity):
    """A quantity that is zero or more (e.g. scrap)."""

    value: NonNegativeAmount


class PositiveQuantity(Quantity):
    """A quantity that is more than zero (e.g. consumed or received)."""

    value: PositiveAmount


class Dimension(StrEnum):
    """What a unit of measure measures."""

    COUNT = "count"
    MASS = "mass"
    LENGTH = "length"
    AREA = "area"
    VOLUME = "volume"
    TIME = "time"
    OTHER = "other"


class UnitOfMeasure(CanonicalModel):
    """A unit of measure known to the hub."""

    code: UomCode
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    dimension: Dimension


class UomConversion(CanonicalModel):
    """One `from_uom` equals `factor` of `to_uom`, globally or for one item only."""

    from_uom: UomCode
    to_uom: UomCode
    factor: PositiveAmount
    item_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


_SCALE = Decimal(1).scaleb(-MAX_SCALE)
_EXPONENTS = 999_999  # every operand's exponent is within ±amounts.MAX_EXPONENT, far inside this

# A step of a conversion path: (unit reached, factor, True when dividing by the factor)
_Edge = tuple[str, Decimal, bool]


def _graph(conversions: Iterable[UomConversion], item_id: str | None) -> dict[str, list[_Edge]]:
    """Edges between units, both directions; an item's own conversion replaces the global one."""
    chosen: dict[frozenset[str], UomConversion] = {}
    for conv in conversions:
        if conv.from_uom == conv.to_uom or (conv.item_id is not None and conv.item_id != item_id):
            continue
        pair = frozenset((conv.from_uom, conv.to_uom))
        held = chosen.get(pair)
        if held is None or (held.item_id is None and conv.item_id is not None):
            chosen[pair] = conv
    graph: dict[str, list[_Edge]] = {}
    for conv in chosen.values():
        graph.setdefault(conv.from_uom, []).append((conv.to_uom, conv.factor, False))
        graph.setdefault(conv.to_uom, []).append((conv.from_uom, conv.factor, True))
    return graph


def _path(graph: dict[str, list[_Edge]], start: str, goal: str) -> list[_Edge] | None:
    """The shortest chain of conversions from `start` to `goal` (breadth first, stable order)."""
    previous: dict[str, tuple[str, _Edge]] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        unit = queue.popleft()
        if unit == goal:
            steps: list[_Edge] = []
            while unit != start:
                unit, edge = previous[unit]
                steps.append(edge)
            return steps[::-1]
        for edge in graph.get(unit, []):
            if edge[0] not in seen:
                seen.add(edge[0])
                previous[edge[0]] = (unit, edge)
                queue.append(edge[0])
    return None


def _apply(value: Decimal, steps: list[_Edge]) -> Decimal:
    """Multiply exactly; divide exactly when the result terminates, else round to MAX_SCALE."""
    exact, wide = _contexts(value, steps)
    numerator, denominator = value, Decimal(1)
    for _, factor, inverse in steps:
        if inverse:
            denominator = exact.multiply(denominator, factor)
        else:
            numerator = exact.multiply(numerator, factor)
    try:
        return exact.divide(numerator, denominator)
    except decimal.Inexact:
        return wide.divide(numerator, denominator).quantize(_SCALE, context=wide)


def _contexts(value: Decimal, steps: list[_Edge]) -> tuple[decimal.Context, decimal.Context]:
    """Contexts with precision for this chain: a product needs at most the sum of its operands'
    digits, and each step moves the point by at most the integer digits plus the scale. Every
    operand is checked by the numeric policy first, so no exponent here is unbounded."""
    digits = len(check_amount(value).as_tuple().digits)
    for _, factor, _ in steps:
        digits += len(check_amount(factor).as_tuple().digits)
    prec = digits + (MAX_INTEGER_DIGITS + MAX_SCALE) * (len(steps) + 1) + MAX_SCALE
    exact = decimal.Context(prec=prec, Emax=_EXPONENTS, Emin=-_EXPONENTS, traps=[decimal.Inexact])
    return exact, decimal.Context(prec=prec, Emax=_EXPONENTS, Emin=-_EXPONENTS)


def convert(
    quantity: Quantity,
    to_uom: str,
    conversions: Iterable[UomConversion],
    item_id: str | None = None,
) -> Quantity:
    """Express `quantity` in `to_uom` using the declared conversions (and their inverses)."""
    if quantity.uom == to_uom:
        return Quantity(value=quantity.value, uom=to_uom)
    steps = _path(_graph(conversions, item_id), quantity.uom, to_uom)
    if steps is None:
        for_item = f" for item {item_id!r}" if item_id is not None else ""
        raise UnknownConversion(f"no conversion from {quantity.uom!r} to {to_uom!r}{for_item}")
    return Quantity(value=_apply(quantity.value, steps), uom=to_uom)
