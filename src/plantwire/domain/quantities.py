"""Exact quantities, units of measure and unit conversion for the canonical model.

Amounts are `Decimal` end to end: JSON numbers and strings are accepted, JSON output is a
string, and arithmetic never passes through `float`.
"""

from __future__ import annotations

import decimal
import math
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
from pydantic_core import PydanticKnownError

__all__ = [
    "MAX_INTEGER_DIGITS",
    "MAX_SCALE",
    "PASSES_STRINGS",
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

MAX_INTEGER_DIGITS = 18
"""Digits allowed before the decimal point of an amount."""

MAX_SCALE = 18
"""Decimal places allowed in an amount; inexact conversion results are rounded to this."""

# A float carries at most 15 decimal digits faithfully (DBL_DIG); beyond that the sender's number
# may already have been rounded on the way in, so we refuse it rather than store a guess.
_FLOAT_SAFE_DIGITS = 15


class DomainError(ValueError):
    """A business rule of the canonical model was broken."""


class UnknownConversion(DomainError):
    """No declared conversion links two units of measure (for this item)."""


class CanonicalModel(BaseModel):
    """Base of every canonical model: immutable, and unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_floats(value: Any) -> Any:
    """Turn a float into the Decimal it was written as, refusing NaN, infinity and lossy digits."""
    if type(value) is str:  # the usual case, first: amounts travel as JSON strings
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("amount must be a finite number")
        as_decimal = Decimal(repr(value))
        if len(as_decimal.normalize().as_tuple().digits) > _FLOAT_SAFE_DIGITS:
            raise ValueError(
                f"number {value!r} has more than {_FLOAT_SAFE_DIGITS} significant digits; "
                "send it as a JSON string to keep it exact"
            )
        return as_decimal
    return value


PASSES_STRINGS = frozenset({_no_floats})
"""Before-validators that return a JSON string unchanged (the ingest hot path reads amounts only
from strings, so it can skip them; service/structs.py)."""

_INTEGER_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
_EXACT_DIGITS = 28  # decimal's default context precision, which normalize() rounds to


def _bounded(value: Decimal) -> Decimal:
    """Reject non-finite amounts and amounts beyond the supported digits."""
    if value.is_finite() and -_INTEGER_LIMIT < value < _INTEGER_LIMIT:
        sign, digits, exponent = value.as_tuple()
        # fast path, no normalize(): in range, short enough that normalize() would not round
        if isinstance(exponent, int) and exponent >= -MAX_SCALE and len(digits) <= _EXACT_DIGITS:
            return value
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    if value.is_zero():
        return value
    normal = value.normalize()
    if normal.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"amount has more than {MAX_INTEGER_DIGITS} integer digits")
    exponent = normal.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    if -exponent > MAX_SCALE:
        raise ValueError(f"amount has more than {MAX_SCALE} decimal places")
    return value


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
    BeforeValidator(_no_floats),
    AfterValidator(_bounded),
    WithJsonSchema(amount_json_schema()),
]
"""An exact, finite decimal amount (may be negative, e.g. an adjustment)."""

def _bounded_non_negative(value: Decimal) -> Decimal:
    """_bounded, and zero or more (pydantic's own error; one call instead of two)."""
    if _bounded(value) < 0:
        raise PydanticKnownError("greater_than_equal", {"ge": 0})
    return value


def _bounded_positive(value: Decimal) -> Decimal:
    """_bounded, and more than zero (pydantic's own error; one call instead of two)."""
    if _bounded(value) <= 0:
        raise PydanticKnownError("greater_than", {"gt": 0})
    return value


NonNegativeAmount = Annotated[
    Decimal,
    BeforeValidator(_no_floats),
    AfterValidator(_bounded_non_negative),
    WithJsonSchema(amount_json_schema(minimum=0)),
]
"""An exact amount that is zero or more."""

PositiveAmount = Annotated[
    Decimal,
    BeforeValidator(_no_floats),
    AfterValidator(_bounded_positive),
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


# Multiplying exact decimals needs at most the sum of their digits; this is far above that bound.
_EXACT = decimal.Context(prec=200, Emax=999_999, Emin=-999_999, traps=[decimal.Inexact])
_WIDE = decimal.Context(prec=200, Emax=999_999, Emin=-999_999)
_SCALE = Decimal(1).scaleb(-MAX_SCALE)

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
    numerator, denominator = value, Decimal(1)
    for _, factor, inverse in steps:
        if inverse:
            denominator = _EXACT.multiply(denominator, factor)
        else:
            numerator = _EXACT.multiply(numerator, factor)
    try:
        return _EXACT.divide(numerator, denominator)
    except decimal.Inexact:
        return _WIDE.divide(numerator, denominator).quantize(_SCALE, context=_WIDE)


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
