"""Flow 7, "transfer": stock moved between storage locations is moved in the ERP too.

One instance per transfer (key: the transfer id), so a transfer reported twice posts once.

1. inventory.transferred -> erp.post_goods_movement TRANSFER: one material document that takes
   the quantity out of the source location and puts it into the destination, so the ERP's two
   sides stay balanced by construction (the stock projection applies the same event as one
   minus and one plus). The step's idempotency key makes a retried call post nothing new.
   Compensation: none declared; no later step of this flow can fail, and a wrong transfer is
   undone by the opposite transfer, which the WMS reports as an event of its own.
2. The ERP refuses it for good -> "transfer-failed" with both locations, for a person to post.
Cross-plant transfers (the destination location belongs to another plant per
``settings.location_plants``): simplified to one TRANSFER document posted in the sending plant
with the destination plant in its text, and the quantity recorded as in transit in the instance;
the two-step stock transport (SAP 303/305) is not modelled by the canonical movements yet.
"""

from __future__ import annotations

from typing import Any

from plantwire.domain.commands import Movement, PostGoodsMovement
from plantwire.domain.inventory import InventoryTransferred
from plantwire.flows.api import Command, CommandDone, CommandFailed, Context, EventInput, FlowInput
from plantwire.flows.catalog.procurement_settings import ProcurementSettings

__all__ = ["Transfer"]

TRANSFERRED = "inventory.transferred"


class Transfer:
    """Post a stock transfer to the ERP once."""

    name = "transfer"
    version = 1
    types = frozenset({TRANSFERRED})

    def __init__(self, settings: ProcurementSettings) -> None:
        self.settings = settings

    def key_of(self, event: EventInput) -> str | None:
        return str(event.data["transfer_id"])

    def starts(self, event: EventInput) -> bool:
        return True

    def react(self, ctx: Context, inp: FlowInput) -> None:
        st = ctx.state
        if isinstance(inp, EventInput):
            if "transfer" not in st:
                self._transferred(ctx, inp.data)
        elif isinstance(inp, CommandDone):
            st["document"] = inp.result.get("document")
            if st["to_plant"]:
                st["in_transit"] = {"to_plant": st["to_plant"], **st["transfer"]}
                ctx.finish("posted-in-transit")
            else:
                ctx.finish("posted")
        elif isinstance(inp, CommandFailed):
            t = st["transfer"]
            ctx.raise_exception(
                "transfer-failed", f"the ERP refused transfer {ctx.key} of {t['quantity']['value']} "
                f"{t['quantity']['uom']} {t['item_id']} from {t['from_location']} to {t['to_location']}: "
                f"{inp.message}", f"post the transfer (311) from {t['from_location']} to {t['to_location']} "
                "in the ERP by hand, or correct the stock", plant=t["plant"], transfer_id=ctx.key,
                error_class=inp.error_class)
            ctx.finish("failed")

    def _transferred(self, ctx: Context, data: dict[str, Any]) -> None:
        t = InventoryTransferred.model_validate(data)
        to_plant = self.settings.location_plants.get(t.to_location)
        cross = to_plant is not None and to_plant != t.plant
        ctx.state.update(transfer=t.model_dump(mode="json"), to_plant=to_plant if cross else None)
        text = f"transfer {t.transfer_id}" + (f" to plant {to_plant}, in transit" if cross else "")
        move = PostGoodsMovement.model_validate({
            "movement": Movement.TRANSFER, "plant": t.plant, "item_id": t.item_id, "quantity": t.quantity,
            "storage_location": t.from_location, "to_location": t.to_location, "lot": t.lot, "text": text})
        # compensation: none (see the module docstring); the key alone keeps a retry from posting twice
        ctx.send("post", Command("erp", "post_goods_movement", move.model_dump(mode="json")))
