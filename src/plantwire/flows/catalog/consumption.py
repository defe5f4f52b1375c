"""Flow 2, consumption -> inventory decrement: every MES consumption becomes one ERP goods issue to
the order; with backflush on, the final completion issues what the MES did not report.

Steps (per order; the projection decrements stock from the event itself):
- `production.component.consumed`: `erp.post_goods_movement` GOODS_ISSUE_TO_ORDER, step
  `gi/<consumption id>` (one per consumption, so two real consumptions post twice and a resent one,
  even under a new message id, posts once; the runtime's key per step reaches the ERP). Consuming
  more than the unrestricted stock the hub knows of raises "overconsumption" and still posts: the
  ERP is the book of record and refuses negative stock itself, which then raises
  "goods-issue-failed" with its message.
- final `production.goods.completed` with backflush on: `backflush/<item>` issues the remainder of
  each component (the released requirement less what was consumed); a consumption reported after
  that raises "consumption-after-backflush".
- finish "posted" once the final completion is in, the grace period for late consumptions
  (`consumption_grace_seconds`) is over and every posting is settled.
No compensations: a goods issue records material that was physically used; nothing later in this
saga makes it untrue, and a refused one is fixed by a person, not undone.
Events may come in any order: any of the three starts the instance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plantwire.domain.commands import Movement, PostGoodsMovement
from plantwire.domain.production import ComponentConsumed, ProductionOrderReleased
from plantwire.domain.quantities import PositiveQuantity
from plantwire.flows.api import (
    Command,
    CommandDone,
    CommandFailed,
    Context,
    EventInput,
    FlowInput,
    TimerFired,
)
from plantwire.flows.catalog.settings import FlowSettings
from plantwire.projections.atp import applied, bucket_at

RELEASED = "production.order.released"
CONSUMED = "production.component.consumed"
COMPLETED = "production.goods.completed"
CLOSE = "close"
ZERO = Decimal(0)


class ConsumptionFlow:
    """Consumption -> inventory decrement (and backflush)."""

    name = "consumption"
    version = 1
    types = frozenset({RELEASED, CONSUMED, COMPLETED})

    def __init__(self, settings: FlowSettings) -> None:
        self.settings = settings

    def key_of(self, event: EventInput) -> str | None:
        return str(event.data["order_id"])

    def starts(self, event: EventInput) -> bool:
        return True

    def react(self, ctx: Context, inp: FlowInput) -> None:
        st = ctx.state
        if not st:
            st.update(plant=None, order=None, consumptions={}, consumed={}, steps={}, docs={},
                      final=False, closing=False, backflushed=None, duplicates=0)
        if isinstance(inp, EventInput):
            st["plant"] = st["plant"] or inp.data["plant"]
            if inp.type == RELEASED:
                self._released(ctx, inp)
            elif inp.type == CONSUMED:
                self._consumed(ctx, inp)
            elif inp.data.get("final") and not st["final"]:
                st["final"] = True
                ctx.start_timer(CLOSE, ctx.now + self.settings.consumption_grace_seconds)
                self._backflush(ctx)
        elif isinstance(inp, TimerFired) and inp.name == CLOSE:
            st["closing"] = True
            if st["order"] is None and self.settings.backflush_at(st["plant"]):
                ctx.raise_exception(
                    "backflush-skipped", f"order {ctx.key} completed but its release never arrived, so "
                    "nothing was backflushed", "post the goods issues for the order's components by hand",
                    plant=st["plant"], order=ctx.key)
        elif isinstance(inp, CommandDone):
            st["steps"][inp.step] = "done"
            st["docs"][inp.step] = inp.result.get("document")
        elif isinstance(inp, CommandFailed):
            st["steps"][inp.step] = "failed"
            self._failed(ctx, inp)
        self._maybe_finish(ctx)

    def _released(self, ctx: Context, inp: EventInput) -> None:
        if ctx.state["order"] is not None:
            return
        order = ProductionOrderReleased.model_validate(inp.data)
        components: dict[str, dict[str, Any]] = {}
        for comp in order.components:
            value, uom = self.settings.to_unit(comp.quantity.value, comp.quantity.uom, comp.item_id)
            held = components.get(comp.item_id)
            if held is not None and held["uom"] == uom:
                held["need"] = str(Decimal(held["need"]) + value)
            else:
                components[comp.item_id] = {"need": str(value), "uom": uom, "location": comp.storage_location}
        ctx.state["order"] = {"quantity": str(order.quantity.value), "components": components}
        self._backflush(ctx)

    def _consumed(self, ctx: Context, inp: EventInput) -> None:
        st = ctx.state
        c = ComponentConsumed.model_validate(inp.data)
        if c.consumption_id in st["consumptions"]:
            st["duplicates"] += 1  # the same consumption resent under another message id
            return
        step = f"gi/{c.consumption_id}"
        value, uom = self.settings.to_unit(c.quantity.value, c.quantity.uom, c.item_id)
        st["consumptions"][c.consumption_id] = {"item": c.item_id, "quantity": str(value), "uom": uom}
        totals = st["consumed"].setdefault(c.item_id, {})
        totals[uom] = str(Decimal(totals.get(uom, "0")) + value)
        self._check_stock(ctx, inp, c)
        ctx.send(step, Command("erp", "post_goods_movement", PostGoodsMovement(
            movement=Movement.GOODS_ISSUE_TO_ORDER, plant=c.plant, item_id=c.item_id, quantity=c.quantity,
            storage_location=c.storage_location, lot=c.lot, order_id=c.order_id,
            text=f"MES consumption {c.consumption_id}").model_dump(mode="json")))
        st["steps"][step] = "sent"
        if (st["backflushed"] or {}).get(c.item_id):
            ctx.raise_exception(
                "consumption-after-backflush",
                f"order {ctx.key}: the MES reported consumption {c.consumption_id} of {c.quantity.value} "
                f"{c.quantity.uom} {c.item_id} after the remainder was backflushed; both were posted",
                f"if the MES consumption replaces the backflush, reverse ERP document "
                f"{st['docs'].get('backflush/' + c.item_id) or '(pending)'} for {c.item_id}",
                plant=c.plant, order=ctx.key, item=c.item_id)

    def _check_stock(self, ctx: Context, inp: EventInput, c: ComponentConsumed) -> None:
        """Raise "overconsumption" when the consumption takes more than the unrestricted stock."""
        bucket = bucket_at(ctx.lookup, ctx.scan, c.plant, c.item_id, c.storage_location, c.lot)
        unit = bucket.uom if bucket else None
        value, uom = self.settings.to_unit(c.quantity.value, c.quantity.uom, c.item_id, unit)
        if unit is not None and uom != unit:
            return  # the projection keeps another unit with no conversion: it refuses the event itself
        on_hand = bucket.on_hand if bucket else ZERO
        blocked = bucket.blocked if bucket else ZERO
        # the projection may have taken this event already (it runs before the flows)
        after = on_hand if applied(ctx.lookup, inp.seq) else on_hand - value
        if after - blocked >= 0:
            return
        lot = f" lot {c.lot}" if c.lot else ""
        ctx.raise_exception(
            "overconsumption",
            f"order {ctx.key}: the MES consumed {value} {uom} of {c.item_id}{lot} at {c.plant}/"
            f"{c.storage_location} but only {max(ZERO, after + value - blocked)} {uom} unrestricted stock is "
            f"known (short {blocked - after} {uom}); the goods issue was still sent, the ERP refuses it if "
            "its stock agrees",
            f"check the stock of {c.item_id} at {c.storage_location}: post the missing receipt or transfer, "
            f"or correct consumption {c.consumption_id} in the MES",
            plant=c.plant, order=ctx.key, item=c.item_id, short=str(blocked - after), uom=uom)

    def _backflush(self, ctx: Context) -> None:
        st = ctx.state
        plant = st["plant"]
        if not (st["final"] and st["order"] and self.settings.backflush_at(plant)) or st["backflushed"]:
            return
        st["backflushed"] = {}
        for item, comp in sorted(st["order"]["components"].items()):
            used = Decimal(st["consumed"].get(item, {}).get(comp["uom"], "0"))
            rest = Decimal(comp["need"]) - used
            if rest <= 0:
                continue
            location = comp["location"] or self.settings.issue_location_at(plant)
            if location is None:
                ctx.raise_exception(
                    "backflush-failed", f"order {ctx.key}: {rest} {comp['uom']} of {item} to backflush but "
                    "neither the order nor the settings name a storage location",
                    f"post the goods issue of {item} by hand and set issue_location for plant {plant}",
                    plant=plant, order=ctx.key, item=item)
                continue
            step = f"backflush/{item}"
            ctx.send(step, Command("erp", "post_goods_movement", PostGoodsMovement(
                movement=Movement.GOODS_ISSUE_TO_ORDER, plant=plant, item_id=item,
                quantity=PositiveQuantity(value=rest, uom=comp["uom"]), storage_location=location,
                order_id=ctx.key, text="backflush on final completion").model_dump(mode="json")))
            st["steps"][step] = "sent"
            st["backflushed"][item] = str(rest)

    def _failed(self, ctx: Context, inp: CommandFailed) -> None:
        payload = inp.command.payload
        what = f"{payload['quantity']['value']} {payload['quantity']['uom']} {payload['item_id']}"
        kind = "backflush-failed" if inp.step.startswith("backflush/") else "goods-issue-failed"
        ctx.raise_exception(
            kind, f"order {ctx.key}: the ERP refused the goods issue of {what} from "
            f"{payload['storage_location']}: {inp.message}",
            "fix the cause in the ERP (missing stock, blocked order) and post the goods issue by hand",
            plant=payload["plant"], order=ctx.key, item=payload["item_id"], step=inp.step)

    @staticmethod
    def _maybe_finish(ctx: Context) -> None:
        st = ctx.state
        if st["final"] and st["closing"] and all(v != "sent" for v in st["steps"].values()):
            ctx.finish("posted")
