"""Production event contracts: order release, component consumption, goods completion."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from plantwire.domain.events import BusinessTime, EventData, unique_lines
from plantwire.domain.master import Identifier, LineNumber
from plantwire.domain.quantities import CanonicalModel, NonNegativeQuantity, PositiveQuantity

__all__ = [
    "ComponentConsumed",
    "ComponentRequirement",
    "ProductionGoodsCompleted",
    "ProductionOrderReleased",
]


class ComponentRequirement(CanonicalModel):
    """A component a released order needs, and where to stage it from."""

    line: LineNumber
    item_id: Identifier
    quantity: PositiveQuantity
    storage_location: Identifier | None = None
    operation: Identifier | None = None


class ProductionOrderReleased(EventData):
    """A production order was released to the shop floor (data of production.order.released v1)."""

    order_id: Identifier
    plant: Identifier
    item_id: Identifier
    quantity: PositiveQuantity
    scheduled_start: BusinessTime
    scheduled_end: BusinessTime
    due_date: date | None = None
    work_center: Identifier | None = None
    bom_revision: Identifier | None = None
    components: list[ComponentRequirement] = Field(default_factory=list)

    @field_validator("components")
    @classmethod
    def _unique_component_lines(
        cls, components: list[ComponentRequirement]
    ) -> list[ComponentRequirement]:
        unique_lines(components)
        return components

    @model_validator(mode="after")
    def _end_not_before_start(self) -> ProductionOrderReleased:
        if self.scheduled_end < self.scheduled_start:
            raise ValueError("scheduled_end must not be before scheduled_start")
        return self


class ComponentConsumed(EventData):
    """Material was issued to a production order (data of production.component.consumed v1)."""

    order_id: Identifier
    plant: Identifier
    consumption_id: Identifier
    item_id: Identifier
    quantity: PositiveQuantity
    lot: Identifier | None = None
    storage_location: Identifier
    consumed_at: BusinessTime
    operation: Identifier | None = None
    work_center: Identifier | None = None


def _no_scrap(data: dict[str, Any]) -> NonNegativeQuantity:
    """Zero scrap, in the unit of the yield (a stand-in unit when the yield itself is invalid)."""
    yielded = data.get("yield_quantity")
    uom = yielded.uom if isinstance(yielded, NonNegativeQuantity) else "EA"
    return NonNegativeQuantity(value=Decimal(0), uom=uom)


class ProductionGoodsCompleted(EventData):
    """Output of a production order was reported (data of production.goods.completed v1)."""

    order_id: Identifier
    plant: Identifier
    completion_id: Identifier
    item_id: Identifier
    yield_quantity: NonNegativeQuantity
    scrap_quantity: Annotated[
        NonNegativeQuantity,
        Field(
            default_factory=_no_scrap,
            description="Scrapped quantity; zero in the yield's unit when omitted.",
        ),
    ]
    lot: Identifier | None = None
    storage_location: Identifier
    completed_at: BusinessTime
    final: bool = False

    @model_validator(mode="after")
    def _reports_something(self) -> ProductionGoodsCompleted:
        nothing = self.yield_quantity.value == 0 and self.scrap_quantity.value == 0
        if nothing and not self.final:
            raise ValueError("a completion that is not final must report yield or scrap")
        return self
