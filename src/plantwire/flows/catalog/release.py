"""Flow 1, release -> material availability: check each component of a released order against ATP,
stage what is there, download the order to the MES, and name the PO that covers any shortage.

Steps (per order):
- `production.order.released`: every component is "available" or "short" (missing quantity in the
  item's base unit, from the ATP projection less what other orders reserved). A shortage raises one
  "shortage" exception naming the earliest open PO line whose delivery covers it. The available
  part is staged (`wms.request_staging`, step stage-1) and the order downloaded (`mes.download_order`).
- while short: a recheck timer looks again every `shortage_recheck_seconds` until the scheduled start
  and stages what has arrived (stage-2, ...).
- finish: "staged" once the download and every staging are confirmed and nothing is short;
  "completed" when the order's final completion arrives first (a completion before any release
  finishes it at once, so a late release stages nothing for a finished order).
Failures: a refused staging or download raises "staging-failed" / "download-failed".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plantwire.domain.commands import DownloadProductionOrder, RequestStaging, StagingLine
from plantwire.domain.production import ProductionOrderReleased
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
from plantwire.projections.atp import availability, earliest_cover

RELEASED = "production.order.released"
COMPLETED = "production.goods.completed"
RECHECK = "recheck"


def _qty(value: Decimal, uom: str) -> PositiveQuantity:
    return PositiveQuantity(value=value, uom=uom)


class ReleaseFlow:
    """Release -> material availability."""

    name = "release"
    version = 1
    types = frozenset({RELEASED, COMPLETED})

    def __init__(self, settings: FlowSettings) -> None:
        self.settings = settings

    def key_of(self, event: EventInput) -> str | None:
        return str(event.data["order_id"])

    def starts(self, event: EventInput) -> bool:
        return event.type == RELEASED or (event.type == COMPLETED and bool(event.data.get("final")))

    def react(self, ctx: Context, inp: FlowInput) -> None:
        if isinstance(inp, EventInput) and inp.type == RELEASED:
            self._released(ctx, inp)
        elif isinstance(inp, EventInput) and inp.type == COMPLETED and inp.data.get("final"):
            ctx.cancel_timer(RECHECK)
            ctx.finish("completed" if ctx.state.get("order") else "completed-before-release")
        elif isinstance(inp, TimerFired) and inp.name == RECHECK:
            self._recheck(ctx)
        elif isinstance(inp, CommandDone):
            ctx.state["steps"][inp.step] = "done"
            if inp.step.startswith("stage-"):
                for comp in ctx.state["components"].values():
                    if comp.get("staging") == inp.step:
                        comp["status"] = "staged" if comp["missing"] == "0" else "short"
            self._maybe_finish(ctx)
        elif isinstance(inp, CommandFailed):
            ctx.state["steps"][inp.step] = "failed"
            kind = "download-failed" if inp.step == "download" else "staging-failed"
            order = ctx.state["order"]
            ctx.raise_exception(kind, f"order {ctx.key}: {inp.command.target} refused {inp.command.name}: "
                                f"{inp.message}", f"fix the order in the {inp.command.target.upper()} and "
                                "send it again by hand", plant=order["plant"], order=ctx.key)

    def _released(self, ctx: Context, inp: EventInput) -> None:
        if "order" in ctx.state:
            ctx.state["rereleased"] = ctx.state.get("rereleased", 0) + 1
            return  # a new revision of a running release is for a person; the first one stands
        order = ProductionOrderReleased.model_validate(inp.data)
        ctx.state.update(order={"plant": order.plant, "item": order.item_id, "work_center": order.work_center,
                                "start": order.scheduled_start.timestamp()},
                         components={}, steps={}, stagings=0)
        for comp in order.components:
            value, uom = self.settings.to_unit(comp.quantity.value, comp.quantity.uom, comp.item_id)
            ctx.state["components"][str(comp.line)] = {
                "item": comp.item_id, "need": str(value), "uom": uom, "location": comp.storage_location,
                "staged": "0", "missing": "0", "status": "pending", "staging": None}
        short = self._evaluate(ctx)
        self._stage(ctx)
        ctx.send("download", Command("mes", "download_order", DownloadProductionOrder(
            order_id=order.order_id, plant=order.plant, item_id=order.item_id, quantity=order.quantity,
            work_center=order.work_center,
            components=[StagingLine(line=c.line, item_id=c.item_id, quantity=c.quantity,
                                    storage_location=c.storage_location) for c in order.components],
        ).model_dump(mode="json")))
        # Staging and download have no compensation: nothing in this saga fails after them, and
        # neither the WMS nor the MES offers a cancel command; a cancelled order is returned to
        # stock by the WMS itself.
        ctx.state["steps"]["download"] = "sent"
        for line in short:
            self._raise_shortage(ctx, ctx.state["components"][line])
        for comp in ctx.state["components"].values():
            if comp["status"] == "unchecked":
                ctx.raise_exception(
                    "unknown-conversion", f"order {ctx.key}: {comp['item']} is required in {comp['uom']} "
                    "but stock is kept in another unit with no declared conversion; it was neither checked "
                    "nor staged",
                    f"declare the unit conversion for {comp['item']} and stage it by hand",
                    plant=order.plant, item=comp["item"], order=ctx.key)
        if short:
            ctx.start_timer(RECHECK, ctx.now + self.settings.shortage_recheck_seconds)

    def _evaluate(self, ctx: Context) -> list[str]:
        """Compare each component not yet fully staged with ATP; return the lines that are short.

        The need is the order's own open reservation when the projection knows the order (it drops
        as the MES consumes), else the requirement; what was already staged counts as covered."""
        plant = ctx.state["order"]["plant"]
        short = []
        for line, comp in sorted(ctx.state["components"].items(), key=lambda kv: int(kv[0])):
            if comp["status"] in ("staged", "available", "unchecked"):
                continue
            avail = availability(ctx.lookup, ctx.scan, plant, comp["item"], comp["location"], ctx.key)
            need, uom = Decimal(comp["need"]), comp["uom"]
            if avail.uom is not None and avail.uom != uom:
                need, uom = self.settings.to_unit(need, uom, comp["item"], avail.uom)
                if uom != avail.uom:
                    comp.update(status="unchecked", missing="0")  # no conversion: we cannot compare
                    continue
                comp.update(need=str(need), uom=uom)
            if avail.own_reservation is not None:
                need = avail.own_reservation
            free = max(Decimal(0), avail.free)
            comp.update(stage_now=str(max(Decimal(0), min(need, free) - Decimal(comp["staged"]))),
                        missing=str(max(Decimal(0), need - free)))
            comp["status"] = "short" if need > free else "available"
            if need > free:
                short.append(line)
        return short

    def _stage(self, ctx: Context) -> None:
        """Ask the WMS to stage what was found available and not yet asked for."""
        lines = []
        for line, comp in sorted(ctx.state["components"].items(), key=lambda kv: int(kv[0])):
            now = Decimal(comp.pop("stage_now", "0"))
            if now > 0:
                lines.append(StagingLine(line=int(line), item_id=comp["item"],
                                         quantity=_qty(now, comp["uom"]), storage_location=comp["location"]))
                comp["staged"] = str(Decimal(comp["staged"]) + now)
        if not lines:
            return
        ctx.state["stagings"] += 1
        step = f"stage-{ctx.state['stagings']}"
        order = ctx.state["order"]
        ctx.send(step, Command("wms", "request_staging", RequestStaging(
            order_id=ctx.key, plant=order["plant"], work_center=order["work_center"], lines=lines,
        ).model_dump(mode="json")))
        ctx.state["steps"][step] = "sent"
        for line in lines:
            ctx.state["components"][str(line.line)]["staging"] = step

    def _raise_shortage(self, ctx: Context, comp: dict[str, Any]) -> None:
        plant, missing = ctx.state["order"]["plant"], Decimal(comp["missing"])
        cover = earliest_cover(ctx.scan, plant, comp["item"], missing)
        where = f"{plant}/{comp['location']}" if comp["location"] else plant
        what = f"order {ctx.key}: {comp['item']} short by {missing} {comp['uom']} at {where}"
        if cover is None:
            message = f"{what}; no open purchase order covers it"
            action = f"buy {missing} {comp['uom']} of {comp['item']} or reschedule the order"
        else:
            message = f"{what}; earliest cover: PO {cover['po']} line {cover['line']} due {cover['date']}"
            action = f"expedite PO {cover['po']} (due {cover['date']}) or reschedule the order"
        ctx.raise_exception("shortage", message, action, plant=plant, item=comp["item"], order=ctx.key,
                            missing=str(missing), uom=comp["uom"],
                            supplier=cover.get("supplier") if cover else None,
                            po=cover["po"] if cover else None, po_line=cover["line"] if cover else None,
                            po_date=cover["date"] if cover else None)

    def _recheck(self, ctx: Context) -> None:
        self._evaluate(ctx)
        self._stage(ctx)
        still_short = any(c["status"] == "short" for c in ctx.state["components"].values())
        if still_short and ctx.now < ctx.state["order"]["start"]:
            ctx.start_timer(RECHECK, ctx.now + self.settings.shortage_recheck_seconds)
        self._maybe_finish(ctx)

    def _maybe_finish(self, ctx: Context) -> None:
        settled = all(v == "done" for v in ctx.state["steps"].values())
        if settled and all(c["status"] in ("staged", "unchecked") for c in ctx.state["components"].values()):
            ctx.cancel_timer(RECHECK)
            ctx.finish("staged")
