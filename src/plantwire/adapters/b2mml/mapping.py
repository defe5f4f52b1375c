"""What a B2MML partner leaves implicit, declared per connection (never guessed).

A B2MML document may name no plant, no storage location or no scheduled times; each mapping says
what to use then, or leaves the field unset so that the document is refused with a located issue.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRODUCED", "CONSUMED", "SITE_LEVELS", "WORK_CENTER_LEVELS", "B2mmlMapping"]

PRODUCED = frozenset({"Produced", "Material Produced", "Yield Produced"})
"""MaterialUse values that mean output of the order."""

CONSUMED = frozenset({"Consumed", "Material Consumed"})
"""MaterialUse values that mean a component issued to the order."""

SITE_LEVELS = frozenset({"Site"})
"""Equipment levels whose EquipmentID is the (golden) plant."""

WORK_CENTER_LEVELS = frozenset({"WorkCenter", "ProductionLine", "ProcessCell", "ProductionUnit", "WorkCell",
                                "Unit", "WorkUnit"})
"""Equipment levels whose EquipmentID is the work center (the deepest one wins)."""

SCRAP_KEY = "Scrap"
"""The Quantity/Key that marks the scrapped quantity of a produced MaterialActual."""

ACTUAL_ID = "ActualID"
"""The MaterialActualProperty that carries a completion or consumption id in V0600 (no ID element)."""

FINAL_STATES = frozenset({"Completed", "Closed"})
"""ResponseState values that make a completion final."""


@dataclass(frozen=True)
class B2mmlMapping:
    """Per-connection defaults and choices for mapping B2MML to the canonical model."""

    source: str = "b2mml"
    """CloudEvent source when the document's ApplicationArea names no Sender/LogicalID."""
    plant: str | None = None
    """Plant when the document names no HierarchyScope at Site level."""
    line_properties: tuple[str, ...] = ("LineNumber",)
    """MaterialRequirementProperty IDs that carry a component's line number, tried in order."""
    times_from_creation: bool = False
    """Use ApplicationArea/CreationDateTime when a request or response gives no times."""
    output_location: str | None = None
    """Storage location of produced material that names none."""
    consumption_location: str | None = None
    """Storage location of consumed material that names none."""
    default_uom: str | None = None
    """Unit of a Quantity without UnitOfMeasure."""
