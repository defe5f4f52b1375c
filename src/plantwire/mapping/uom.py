"""Units of measure: declared conversions (global and per item) and per-unit rounding rules.

A conversion is exact rational arithmetic along the declared chain. When the exact answer is a
terminating decimal and the target unit declares no rounding, that is the answer; otherwise the
target unit's rule (decimal places + rounding mode) decides. No rule and an inexact answer is an
error naming the unit: the hub never guesses a rounding.

State: ``uom.conv`` (``item|from|to``, item ``*`` for global) and ``uom.round`` (unit -> rule).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from plantwire.domain.quantities import (
    MAX_SCALE,
    Quantity,
    UnknownConversion,
    UomConversion,
)
from plantwire.errors import BusinessRuleViolation
from plantwire.ports import Clock, StateStore

CONVERSIONS, ROUNDING = "uom.conv", "uom.round"
GLOBAL = "*"
MODES = ("half-up", "half-even", "half-down", "up", "down", "ceiling", "floor")


class RoundingUndeclared(BusinessRuleViolation):
    """A conversion is inexact and the target unit declares no rounding rule."""


@dataclass(frozen=True)
class Rounding:
    """How results in a unit are rounded: to `places` decimal places with `mode`."""

    places: int
    mode: str

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"rounding mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not 0 <= self.places <= MAX_SCALE:
            raise ValueError(f"decimal places must be 0..{MAX_SCALE}, got {self.places}")


def ratio(from_uom: str, to_uom: str, conversions: Iterable[UomConversion],
          item_id: str | None = None) -> Fraction:
    """How many `to_uom` one `from_uom` is, exactly; an item's own conversion beats the global one."""
    if from_uom == to_uom:
        return Fraction(1)
    chosen: dict[frozenset[str], UomConversion] = {}
    for conv in conversions:
        if conv.from_uom == conv.to_uom or conv.item_id not in (None, item_id):
            continue
        pair = frozenset((conv.from_uom, conv.to_uom))
        if pair not in chosen or (chosen[pair].item_id is None and conv.item_id is not None):
            chosen[pair] = conv
    edges: dict[str, list[tuple[str, Fraction]]] = {}
    for conv in chosen.values():
        edges.setdefault(conv.from_uom, []).append((conv.to_uom, Fraction(conv.factor)))
        edges.setdefault(conv.to_uom, []).append((conv.from_uom, 1 / Fraction(conv.factor)))
    reached = {from_uom: Fraction(1)}
    queue = deque([from_uom])
    while queue:
        unit = queue.popleft()
        for nxt, factor in edges.get(unit, []):
            if nxt not in reached:
                reached[nxt] = reached[unit] * factor
                queue.append(nxt)
    if to_uom not in reached:
        for_item = f" for item {item_id!r}" if item_id is not None else ""
        raise UnknownConversion(f"no conversion from {from_uom!r} to {to_uom!r}{for_item}")
    return reached[to_uom]


def terminating(x: Fraction) -> Decimal | None:
    """The exact decimal of a fraction, or None when its expansion does not end (within MAX_SCALE)."""
    den = x.denominator
    twos = fives = 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    places = max(twos, fives)
    if den != 1 or places > MAX_SCALE:
        return None
    return Decimal(x.numerator * 10**places // x.denominator).scaleb(-places)


def round_fraction(x: Fraction, rule: Rounding) -> Decimal:
    """A fraction rounded to the rule's places with its mode, in exact integer arithmetic."""
    scaled = x * 10**rule.places
    q, r = divmod(scaled.numerator, scaled.denominator)  # q = floor; r/den in [0, 1)
    den, negative = scaled.denominator, x < 0
    half = (2 * r > den) - (2 * r < den)  # 1 above half, 0 at a tie, -1 below
    bump = {
        "floor": False,
        "ceiling": r > 0,
        "down": r > 0 and negative,
        "up": r > 0 and not negative,
        "half-up": half > 0 or (half == 0 and not negative),
        "half-down": half > 0 or (half == 0 and negative),
        "half-even": half > 0 or (half == 0 and q % 2 == 1),
    }[rule.mode]
    return Decimal(q + bump).scaleb(-rule.places)


def convert_declared(quantity: Quantity, to_uom: str, conversions: Iterable[UomConversion],
                     rounding: Mapping[str, Rounding], item_id: str | None = None) -> Quantity:
    """`quantity` in `to_uom`: exact when it can be and no rule applies, else by the unit's rule."""
    exact = Fraction(quantity.value) * ratio(quantity.uom, to_uom, conversions, item_id)
    rule = rounding.get(to_uom)
    if rule is not None:
        return Quantity(value=round_fraction(exact, rule), uom=to_uom)
    value = terminating(exact)
    if value is None:
        raise RoundingUndeclared(f"{quantity.value} {quantity.uom} is not a whole decimal number of "
                                 f"{to_uom}; declare a rounding rule for {to_uom}")
    return Quantity(value=value, uom=to_uom)


class Units:
    """The declared conversions and rounding rules, kept in the StateStore."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        self.state, self.clock = state, clock

    def set_conversion(self, conv: UomConversion, by: str) -> None:
        """Declare (or replace) 1 from_uom = factor to_uom, globally or for one item."""
        key = "|".join((conv.item_id or GLOBAL, conv.from_uom, conv.to_uom))
        with self.state.transaction() as tx:
            tx.put(CONVERSIONS, key, {**conv.model_dump(mode="json"), "at": self.clock.now(), "by": by})

    def set_rounding(self, unit: str, rule: Rounding, by: str) -> None:
        """Declare how results in `unit` are rounded."""
        with self.state.transaction() as tx:
            tx.put(ROUNDING, unit, {"places": rule.places, "mode": rule.mode, "at": self.clock.now(),
                                    "by": by})

    def conversions(self, item_id: str | None = None) -> list[UomConversion]:
        """Every declared conversion (global, and the item's own when one is given)."""
        with self.state.transaction() as tx:
            rows = tx.scan(CONVERSIONS)
        fields = ("from_uom", "to_uom", "factor", "item_id")
        convs = [UomConversion.model_validate({k: v[k] for k in fields}) for _, v in rows]
        return [c for c in convs if item_id is None or c.item_id in (None, item_id)]

    def rounding(self) -> dict[str, Rounding]:
        """The declared rounding rule of each unit."""
        with self.state.transaction() as tx:
            return {k: Rounding(v["places"], v["mode"]) for k, v in tx.scan(ROUNDING)}

    def listing(self) -> dict[str, Any]:
        """Conversions and rounding rules as JSON."""
        with self.state.transaction() as tx:
            return {"conversions": [v for _, v in tx.scan(CONVERSIONS)],
                    "rounding": {k: v for k, v in tx.scan(ROUNDING)}}

    def convert(self, quantity: Quantity, to_uom: str, item_id: str | None = None) -> Quantity:
        """Convert with what is declared now."""
        return convert_declared(quantity, to_uom, self.conversions(item_id), self.rounding(), item_id)
