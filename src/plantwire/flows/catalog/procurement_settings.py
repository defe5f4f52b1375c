"""Thresholds of the procurement, quality and transfer flows (value streams 4 to 7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from plantwire.flows.catalog.calendar import PlantCalendar

__all__ = ["ProcurementSettings"]


@dataclass(frozen=True)
class ProcurementSettings:
    """What a plant tunes about flows 4-7; the defaults suit a plant working 06:00-22:00 Mon-Fri."""

    ack_sla_working_hours: float = 8.0
    """A supplier must acknowledge a PO revision within this many working hours of receiving it."""

    hold_ack_deadline_seconds: float = 15 * 60.0
    """Each target (WMS, ERP) must confirm a quality block this soon (wall time: a hold is urgent)."""

    receipt_over_tolerance: Decimal = Decimal("0.05")
    """A receipt may exceed a PO line's open quantity by this fraction (0.05 = 5 %) before it is a
    mismatch; under-delivery is never a mismatch (the line stays open)."""

    receipt_po_wait_seconds: float = 24 * 3600.0
    """A receipt whose PO the hub has not seen waits this long for it before it is an exception."""

    calendars: Mapping[str, PlantCalendar] = field(default_factory=dict)
    """Calendar per plant id; plants not listed use `default_calendar`."""

    default_calendar: PlantCalendar = field(default_factory=PlantCalendar)

    location_plants: Mapping[str, str] = field(default_factory=dict)
    """Storage locations that belong to another plant than the event's (cross-plant transfers)."""

    reservations_ns: str | None = "atp.reservations"
    """The ATP projection's reservations (plant|item|location|seq|order -> quantity still needed),
    read by the supply-delay flow when the hub runs it; otherwise that flow keeps its own index."""

    def calendar_for(self, plant: str | None) -> PlantCalendar:
        """The working calendar of a plant."""
        return self.calendars.get(plant or "", self.default_calendar)
