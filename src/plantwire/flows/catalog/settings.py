"""Business thresholds and switches of the catalog flows, with per-plant overrides.

A plain frozen value: bootstrap builds one from configuration and hands it to the flow factories.
Flow code only reads it, so a decision depends on the input and these values, never on the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from plantwire.domain.quantities import Quantity, UnknownConversion, UomConversion, convert


@dataclass(frozen=True)
class PlantDefaults:
    """What one plant does differently from the hub-wide defaults (None: use the default)."""

    backflush: bool | None = None
    yield_variance_pct: Decimal | None = None
    issue_location: str | None = None


@dataclass(frozen=True)
class FlowSettings:
    """Thresholds, switches and unit conversions the flows decide with."""

    yield_variance_pct: Decimal = Decimal("5")
    """A final completion whose total yield deviates from the order by more than this raises an alert."""
    backflush: bool = False
    """Post goods issues for the unconsumed remainder of each component on the final completion."""
    issue_location: str | None = None
    """Where backflushed components are issued from when the order does not say."""
    shortage_recheck_seconds: float = 900.0
    """How often a release with short components looks at availability again (until the order starts)."""
    consumption_grace_seconds: float = 3600.0
    """How long after the final completion late consumptions are still posted before the saga closes."""
    base_units: Mapping[str, str] = field(default_factory=dict)
    """Item id -> its base unit of measure; requirements are converted to it when declared."""
    conversions: tuple[UomConversion, ...] = ()
    """Unit conversions (global or per item) used for the conversion to base units."""
    plants: Mapping[str, PlantDefaults] = field(default_factory=dict)
    """Per-plant overrides."""

    def backflush_at(self, plant: str) -> bool:
        """Whether the plant backflushes components on the final completion."""
        own = self.plants.get(plant, PlantDefaults()).backflush
        return self.backflush if own is None else own

    def yield_variance_at(self, plant: str) -> Decimal:
        """The yield variance (percent) above which the plant wants an alert."""
        own = self.plants.get(plant, PlantDefaults()).yield_variance_pct
        return self.yield_variance_pct if own is None else own

    def issue_location_at(self, plant: str) -> str | None:
        """The default storage location for backflushed issues at the plant."""
        own = self.plants.get(plant, PlantDefaults()).issue_location
        return self.issue_location if own is None else own

    def to_unit(self, value: Decimal, uom: str, item: str, target: str | None = None) -> tuple[Decimal, str]:
        """A quantity in `target` (default: the item's base unit); unchanged when no unit is declared
        or no conversion links the two (the caller compares units before trusting the number)."""
        goal = target or self.base_units.get(item)
        if goal is None or goal == uom:
            return value, uom
        try:
            converted = convert(Quantity(value=value, uom=uom), goal, self.conversions, item)
        except UnknownConversion:
            return value, uom
        return converted.value, goal
