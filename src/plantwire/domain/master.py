"""Master data of the canonical model: items, the ISA-95 plant hierarchy, suppliers and BOMs."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, WithJsonSchema, model_validator

from plantwire.domain.quantities import (
    CanonicalModel,
    NonNegativeAmount,
    PositiveQuantity,
    UomCode,
    amount_json_schema,
)

__all__ = [
    "Area",
    "Bom",
    "BomLine",
    "Identifier",
    "Item",
    "ItemType",
    "LineNumber",
    "Name",
    "ScrapPercent",
    "Site",
    "StorageLocation",
    "Supplier",
    "WorkCenter",
    "duplicates",
]

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^\S(?:.*\S)?$")
]
"""A business id as a source system writes it: 1-64 characters, no surrounding whitespace."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""A human-readable name or description."""

LineNumber = Annotated[int, Field(ge=1, le=999_999)]
"""A document line number (1-based, as ERPs number lines: 10, 20, ...)."""

ScrapPercent = Annotated[
    NonNegativeAmount, Field(lt=100), WithJsonSchema(amount_json_schema(minimum=0, below=100))
]
"""Expected scrap as a percentage of the required quantity."""


def duplicates(numbers: Iterable[int]) -> list[int]:
    """The numbers that occur more than once, in first-repeat order."""
    seen: set[int] = set()
    repeated: list[int] = []
    for number in numbers:
        if number in seen and number not in repeated:
            repeated.append(number)
        seen.add(number)
    return repeated


class ItemType(StrEnum):
    """What role an item plays in production."""

    RAW = "raw"
    SEMI = "semi"
    FINISHED = "finished"
    PACKAGING = "packaging"
    CONSUMABLE = "consumable"
    SPARE = "spare"


class Item(CanonicalModel):
    """A material definition: anything that is made, bought, stocked or consumed."""

    item_id: Identifier
    description: Name
    base_uom: UomCode
    item_type: ItemType
    lot_controlled: bool = False


class Site(CanonicalModel):
    """An ISA-95 site: a plant."""

    site_id: Identifier
    name: Name
    enterprise_id: Identifier | None = None


class Area(CanonicalModel):
    """An ISA-95 area within a site."""

    area_id: Identifier
    name: Name
    site_id: Identifier


class WorkCenter(CanonicalModel):
    """An ISA-95 work center (line, cell, unit) within an area."""

    work_center_id: Identifier
    name: Name
    area_id: Identifier


class StorageLocation(CanonicalModel):
    """A place in a site where stock is kept, optionally inside an area."""

    storage_location_id: Identifier
    name: Name
    site_id: Identifier
    area_id: Identifier | None = None


class Supplier(CanonicalModel):
    """A supplier, with the ids its EDI messages use."""

    supplier_id: Identifier
    name: Name
    duns: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")] | None = None
    gln: Annotated[str, StringConstraints(pattern=r"^[0-9]{13}$")] | None = None
    edi_id: Identifier | None = None


class BomLine(CanonicalModel):
    """A component needed for the parent's base quantity."""

    line: LineNumber
    item_id: Identifier
    quantity: PositiveQuantity
    scrap_percent: ScrapPercent | None = None


class Bom(CanonicalModel):
    """A bill of materials: components per base quantity of the parent item."""

    bom_id: Identifier
    item_id: Identifier
    base_quantity: PositiveQuantity
    lines: Annotated[list[BomLine], Field(min_length=1)]
    revision: Identifier | None = None

    @model_validator(mode="after")
    def _lines_are_consistent(self) -> Bom:
        repeated = duplicates(line.line for line in self.lines)
        if repeated:
            raise ValueError(f"line numbers must be unique; repeated: {repeated}")
        if any(line.item_id == self.item_id for line in self.lines):
            raise ValueError(f"item {self.item_id!r} cannot be a component of itself")
        return self
