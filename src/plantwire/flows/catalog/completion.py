"""Flow 3, completion -> warehouse availability: put the reported goods away and receive them in
the ERP; alert when the order's yield strays from the released quantity.

Steps (per order; ATP takes the new stock from the event itself):
- `production.goods.completed` with a yield: `wms.create_putaway` (step `putaway/<completion>`), then
  `erp.post_goods_movement` GOODS_RECEIPT_FROM_ORDER (step `gr/<completion>`), issued together so the
  relay sends them in that order. The receipt's compensation, `erp.reverse_document`, needs the
  document number the ERP answers, so it is declared when the CommandDone brings it (kept in state).
- the WMS refuses the put-away for good: the receipt queued behind it cannot be withdrawn, so it is
  reversed (`gr/<completion>~reverse`) as soon as its document is known, and "putaway-failed" raised:
  stock the warehouse cannot place must not show as available in the ERP.
- the ERP refuses the receipt: "goods-receipt-failed" (no compensation for the put-away: the WMS has
  no cancel, and the goods are physically there).
- the final completion, with the release known: total yield against the released quantity; beyond
  `yield_variance_pct` -> "replenishment-risk" naming each component and how much it is affected.
- finish "completed" when the final completion is in, the variance checked and every step settled.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plantwire.domain.commands import CreatePutaway, Movement, PostGoodsMovement, ReverseDocument
from plantwire.domain.production import ProductionGoodsCompleted, ProductionOrderReleased
from plantwire.domain.quantities import PositiveQuantity
from plantwire.flows.api import Command, CommandDone, CommandFailed, Context, EventInput, FlowInput
from plantwire.flows.catalog.settings import FlowSettings

RELEASED = "production.order.released"
COMPLETED = "production.goods.completed"
REVERSE = "~reverse"
ZERO = Decimal(0)


def variance_pct(total_yield: Decimal, ordered: Decimal) -> Decimal:
    """How far the yield strays from the ordered quantity, in percent of it (negative: short)."""
    return (total_yield - ordered) * 100 / ordered


class CompletionFlow:
    """Completion -> warehouse availability."""

    name = "completion"
    version = 1
    types = frozenset({RELEASED, COMPLETED})

    def __init__(self, settings: FlowSettings) -> None:
        self.settings = settings

    def key_of(self, event: EventInput) -> str | None:
        return str(event.data["order_id"])

    def starts(self, event: EventInput) -> bool:
        return True

    def react(self, ctx: Context, inp: FlowInput) -> None:
        st = ctx.state
        if not st:
            st.update(order=None, completions={}, steps={}, docs={}, undo={}, putaway_failed=[],
                      final=False, variance_checked=False, duplicates=0)
        if isinstance(inp, EventInput) and inp.type == RELEASED:
            self._released(ctx, inp)
        elif isinstance(inp, EventInput):
            self._completed(ctx, inp)
        elif isinstance(inp, CommandDone):
            self._done(ctx, inp)
        elif isinstance(inp, CommandFailed):
            self._failed(ctx, inp)
        if st["final"] and st["order"] and not st["variance_checked"]:
            self._check_variance(ctx)
        if st["final"] and st["variance_checked"] and all(v != "sent" for v in st["steps"].values()):
            ctx.finish("completed")

    def _released(self, ctx: Context, inp: EventInput) -> None:
        if ctx.state["order"] is not None:
            return
        order = ProductionOrderReleased.model_validate(inp.data)
        ctx.state["order"] = {
            "plant": order.plant, "item": order.item_id, "quantity": str(order.quantity.value),
            "uom": order.quantity.uom,
            "components": [{"item": c.item_id, "quantity": str(c.quantity.value), "uom": c.quantity.uom}
                           for c in order.components]}

    def _completed(self, ctx: Context, inp: EventInput) -> None:
        st = ctx.state
        c = ProductionGoodsCompleted.model_validate(inp.data)
        if c.completion_id in st["completions"]:
            st["duplicates"] += 1  # the same completion resent under another message id
            return
        st["completions"][c.completion_id] = {
            "yield": str(c.yield_quantity.value), "uom": c.yield_quantity.uom, "lot": c.lot,
            "scrap": str(c.scrap_quantity.value), "location": c.storage_location, "final": c.final}
        st["final"] = st["final"] or c.final
        if c.yield_quantity.value <= 0:
            return
        quantity = PositiveQuantity(value=c.yield_quantity.value, uom=c.yield_quantity.uom)
        ctx.send(f"putaway/{c.completion_id}", Command("wms", "create_putaway", CreatePutaway(
            order_id=c.order_id, plant=c.plant, item_id=c.item_id, quantity=quantity, lot=c.lot,
            from_location=c.storage_location).model_dump(mode="json")))
        ctx.send(f"gr/{c.completion_id}", Command("erp", "post_goods_movement", PostGoodsMovement(
            movement=Movement.GOODS_RECEIPT_FROM_ORDER, plant=c.plant, item_id=c.item_id,
            quantity=quantity, storage_location=c.storage_location, lot=c.lot,
            order_id=c.order_id, text=f"MES completion {c.completion_id}").model_dump(mode="json")))
        # compensation of gr/<completion>: declared on its CommandDone, when the document is known
        st["steps"].update({f"putaway/{c.completion_id}": "sent", f"gr/{c.completion_id}": "sent"})

    def _done(self, ctx: Context, inp: CommandDone) -> None:
        st = ctx.state
        st["steps"][inp.step] = "done"
        st["docs"][inp.step] = inp.result.get("document")
        kind, _, completion = inp.step.partition("/")
        if kind == "gr" and not completion.endswith(REVERSE):
            st["undo"][completion] = ReverseDocument(
                document=str(inp.result["document"]),
                reason=f"put-away of completion {completion} refused").model_dump(mode="json")
            if completion in st["putaway_failed"]:
                self._reverse(ctx, completion)

    def _reverse(self, ctx: Context, completion: str) -> None:
        step = f"gr/{completion}{REVERSE}"
        ctx.send(step, Command("erp", "reverse_document", ctx.state["undo"][completion]))
        ctx.state["steps"][step] = "sent"

    def _failed(self, ctx: Context, inp: CommandFailed) -> None:
        st = ctx.state
        st["steps"][inp.step] = "failed"
        kind, _, completion = inp.step.partition("/")
        payload = inp.command.payload
        plant = payload.get("plant") or (st["order"] or {}).get("plant")
        if kind == "putaway":
            st["putaway_failed"].append(completion)
            if completion in st["undo"]:
                self._reverse(ctx, completion)
            ctx.raise_exception(
                "putaway-failed", f"order {ctx.key}: the WMS refused the put-away of completion {completion} "
                f"({payload['quantity']['value']} {payload['quantity']['uom']} {payload['item_id']}): "
                f"{inp.message}; its goods receipt is reversed in the ERP",
                "check the completion in the MES, put the goods away in the WMS and post the receipt again",
                plant=plant, order=ctx.key, completion=completion)
        elif completion.endswith(REVERSE):
            ctx.raise_exception(
                "reversal-failed", f"order {ctx.key}: the ERP refused to reverse document "
                f"{payload['document']}: {inp.message}", f"reverse document {payload['document']} by hand",
                plant=plant, order=ctx.key, completion=completion.removesuffix(REVERSE))
        else:
            ctx.raise_exception(
                "goods-receipt-failed", f"order {ctx.key}: the ERP refused the goods receipt of completion "
                f"{completion} ({payload['quantity']['value']} {payload['quantity']['uom']} "
                f"{payload['item_id']}): {inp.message}",
                "fix the order in the ERP and post the goods receipt by hand; the goods are already put away",
                plant=plant, order=ctx.key, completion=completion)

    def _check_variance(self, ctx: Context) -> None:
        st = ctx.state
        order = st["order"]
        st["variance_checked"] = True
        ordered, total = Decimal(order["quantity"]), ZERO
        for comp in st["completions"].values():
            value, uom = self.settings.to_unit(Decimal(comp["yield"]), comp["uom"], order["item"],
                                               order["uom"])
            if uom != order["uom"]:
                return  # a yield in a unit we cannot convert: no honest comparison possible
            total += value
        pct = variance_pct(total, ordered)
        limit = self.settings.yield_variance_at(order["plant"])
        if abs(pct) <= limit:
            return
        gap = abs(ordered - total)
        affected = [_affected(c, ordered, gap) for c in order["components"]]
        direction = "short of" if total < ordered else "over"
        ctx.raise_exception(
            "replenishment-risk",
            f"order {ctx.key}: final yield {total} {order['uom']} is {abs(pct):.1f}% {direction} the "
            f"released {ordered} {order['uom']} (threshold {limit}%); components affected: "
            + ("; ".join(f"{a['item']} ({a['quantity']} {a['uom']})" for a in affected) or "none listed"),
            "check the scrap with production and replan the components and the open demand for "
            f"{order['item']}",
            plant=order["plant"], order=ctx.key, item=order["item"], variance_pct=str(round(pct, 2)),
            components=affected)


def _affected(component: dict[str, Any], ordered: Decimal, gap: Decimal) -> dict[str, str]:
    """How much of a component the yield gap stands for (its per-unit quantity times the gap)."""
    per_unit = Decimal(component["quantity"]) / ordered
    amount = (per_unit * gap).quantize(Decimal("0.001")).normalize()
    return {"item": component["item"], "quantity": format(amount, "f"), "uom": component["uom"]}
