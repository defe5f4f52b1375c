"""Flow 6, "quality-hold": a held lot is blocked in the WMS and the ERP, and released again.

One instance per hold (key: the hold id).

1. quality.hold.placed -> wms.block_lot (compensation: wms.unblock_lot) and, per stock bucket,
   erp.post_goods_movement BLOCK (compensation: the same movement UNBLOCK). The quantity is the
   event's; without one, what is on hand for the item and lot (at the location, if given) in the
   read model "inventory.balance"; when neither says how much, the ERP cannot be blocked:
   "hold-quantity-unknown" (the WMS still blocks the lot, which needs no quantity).
2. Each target must confirm its block within ``hold_ack_deadline_seconds``; one that has not ->
   "hold-not-confirmed" naming it; one that refuses -> "hold-failed". We alert rather than undo
   the targets that did block: blocked stock is the safe side of a quality problem.
3. quality.hold.released with disposition "release" -> the compensations of the blocks (unblock),
   also of a block confirmed only after the release; then the instance finishes. Scrap, rework and
   return to supplier have no canonical movement (SAP 555 / 122 from blocked stock), so the stock
   stays blocked everywhere and "hold-disposition" asks a person to post the disposition in the ERP.
A release seen before its hold is kept; the hold then blocks nothing and the instance finishes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plantwire.domain.commands import BlockLot, Movement, PostGoodsMovement, UnblockLot
from plantwire.domain.quality import Disposition, QualityHoldPlaced, QualityHoldReleased
from plantwire.flows.api import (
    Command,
    CommandDone,
    CommandFailed,
    Context,
    EventInput,
    FlowInput,
    TimerFired,
)
from plantwire.flows.catalog.procurement_settings import ProcurementSettings

__all__ = ["BALANCES", "QualityHold"]

PLACED = "quality.hold.placed"
RELEASED = "quality.hold.released"
BALANCES = "inventory.balance"
"""The stock read model: plant|item|location|lot|uom -> quantity on hand."""
DEADLINE = "confirm-deadline"


class QualityHold:
    """Block a held lot in every target, check that each did, and release it again."""

    name = "quality-hold"
    version = 1
    types = frozenset({PLACED, RELEASED})

    def __init__(self, settings: ProcurementSettings) -> None:
        self.settings = settings

    def key_of(self, event: EventInput) -> str | None:
        return str(event.data["hold_id"])

    def starts(self, event: EventInput) -> bool:
        return True

    def react(self, ctx: Context, inp: FlowInput) -> None:
        st = ctx.state
        st.setdefault("hold", None)
        st.setdefault("blocks", {})  # step -> target, status
        st.setdefault("undo", [])
        st.setdefault("notes", [])
        if isinstance(inp, EventInput) and inp.type == PLACED:
            self._placed(ctx, inp.data)
        elif isinstance(inp, EventInput):
            self._released(ctx, inp.data)
        elif isinstance(inp, TimerFired) and inp.name == DEADLINE:
            self._deadline(ctx)
        elif isinstance(inp, CommandDone | CommandFailed) and inp.step in st["blocks"]:
            self._block_answered(ctx, inp)
        elif isinstance(inp, CommandDone | CommandFailed) and inp.step.endswith("~undo"):
            if isinstance(inp, CommandFailed):
                target = st["blocks"][inp.step.removesuffix("~undo")]["target"]
                ctx.raise_exception(
                    "release-failed", f"{target} refused to release hold {ctx.key}: {inp.message}",
                    f"unblock the lot in the {target.upper()} by hand", plant=st["hold"]["plant"],
                    target=target, lot=st["hold"]["lot"])
            st["undo"] = [s for s in st["undo"] if s != inp.step]
            self._maybe_finish(ctx)

    def _placed(self, ctx: Context, data: dict[str, Any]) -> None:
        st = ctx.state
        if st["hold"] is not None:
            return
        hold = QualityHoldPlaced.model_validate(data)
        st["hold"] = {"plant": hold.plant, "item_id": hold.item_id, "lot": hold.lot,
                      "storage_location": hold.storage_location}
        if st.get("release") is not None:
            st["notes"].append("released before the hold reached the hub; nothing blocked")
            ctx.finish("released-before-placed")
            return
        wms = BlockLot(hold_id=hold.hold_id, plant=hold.plant, item_id=hold.item_id, lot=hold.lot,
                       storage_location=hold.storage_location, reason=hold.reason)
        self._block(ctx, "block:wms", "wms", Command("wms", "block_lot", wms.model_dump(mode="json")),
                    Command("wms", "unblock_lot", UnblockLot(hold_id=hold.hold_id, plant=hold.plant,
                            item_id=hold.item_id, lot=hold.lot).model_dump(mode="json")))
        buckets = self._buckets(ctx, hold)
        if not buckets:
            ctx.raise_exception(
                "hold-quantity-unknown", f"hold {hold.hold_id} on {hold.item_id} lot {hold.lot or '-'} gives "
                "no quantity and the hub knows no stock of it" + ("" if hold.storage_location else
                                                                   " (or the lot is in several places)"),
                f"block the stock in the ERP by hand ({hold.reason})", plant=hold.plant,
                item_id=hold.item_id, lot=hold.lot)
        for n, (location, lot, uom, qty) in enumerate(buckets, start=1):
            fields = {"plant": hold.plant, "item_id": hold.item_id, "quantity": {"value": qty, "uom": uom},
                      "storage_location": location, "lot": lot, "text": f"quality hold {hold.hold_id}"}
            block = PostGoodsMovement.model_validate({"movement": Movement.BLOCK, **fields})
            unblock = PostGoodsMovement.model_validate({"movement": Movement.UNBLOCK, **fields})
            self._block(ctx, f"block:erp:{n}", "erp",
                        Command("erp", "post_goods_movement", block.model_dump(mode="json")),
                        Command("erp", "post_goods_movement", unblock.model_dump(mode="json")))
        ctx.start_timer(DEADLINE, ctx.now + self.settings.hold_ack_deadline_seconds)

    def _block(self, ctx: Context, step: str, target: str, command: Command, undo: Command) -> None:
        undo_fields = {"target": undo.target, "name": undo.name, "payload": undo.payload}
        ctx.state["blocks"][step] = {"target": target, "status": "sent", "undo": undo_fields}
        ctx.send(step, command, compensation=undo)

    def _buckets(self, ctx: Context, hold: QualityHoldPlaced) -> list[tuple[str, str | None, str, str]]:
        """(location, lot, uom, quantity) to block in the ERP."""
        on_hand = []
        for key, value in ctx.scan(BALANCES, f"{hold.plant}|{hold.item_id}|"):
            _, _, location, lot, uom = key.split("|")
            if (lot or None) == hold.lot and hold.storage_location in (None, location) \
                    and Decimal(str(value)) > 0:
                on_hand.append((location, lot or None, uom, str(Decimal(str(value)))))
        if hold.quantity is None:
            return on_hand
        quantity = (str(hold.quantity.value), hold.quantity.uom)
        if hold.storage_location is not None:
            return [(hold.storage_location, hold.lot, quantity[1], quantity[0])]
        places = {b[0] for b in on_hand if b[2] == quantity[1]}
        return [(places.pop(), hold.lot, quantity[1], quantity[0])] if len(places) == 1 else []

    def _block_answered(self, ctx: Context, inp: CommandDone | CommandFailed) -> None:
        st = ctx.state
        block = st["blocks"][inp.step]
        hold = st["hold"]
        if isinstance(inp, CommandFailed):
            block["status"] = "failed"
            ctx.raise_exception(
                "hold-failed", f"{block['target']} refused to block {hold['item_id']} "
                f"lot {hold['lot'] or '-'} for hold {ctx.key}: {inp.message}",
                f"block the stock in the {block['target'].upper()} by hand",
                plant=hold["plant"], target=block["target"], lot=hold["lot"])
        else:
            if block["status"] == "overdue":
                st["notes"].append(f"{block['target']} confirmed {inp.step} after its deadline")
            block["status"] = "done"
            if st.get("release") == Disposition.RELEASE.value:  # released while this was on its way
                ctx.send(f"{inp.step}~undo", Command(**block["undo"]))
                st["undo"].append(f"{inp.step}~undo")
        if all(b["status"] in ("done", "failed") for b in st["blocks"].values()):
            ctx.cancel_timer(DEADLINE)
        self._maybe_finish(ctx)

    def _deadline(self, ctx: Context) -> None:
        st, hold = ctx.state, ctx.state["hold"]
        late = sorted({b["target"] for b in st["blocks"].values() if b["status"] == "sent"})
        for block in st["blocks"].values():
            if block["status"] == "sent":
                block["status"] = "overdue"
        for target in late:
            ctx.raise_exception(
                "hold-not-confirmed", f"{target} has not confirmed the block of {hold['item_id']} lot "
                f"{hold['lot'] or '-'} for hold {ctx.key} within "
                f"{self.settings.hold_ack_deadline_seconds / 60:g} minutes",
                f"check that the lot is blocked in the {target.upper()}; block it by hand if not",
                plant=hold["plant"], target=target, lot=hold["lot"])

    def _released(self, ctx: Context, data: dict[str, Any]) -> None:
        st = ctx.state
        if st.get("release") is not None:
            return
        release = QualityHoldReleased.model_validate(data)
        st["release"] = release.disposition.value
        if st["hold"] is None:
            return  # the hold itself has not arrived; _placed sees the release
        ctx.cancel_timer(DEADLINE)
        if release.disposition is Disposition.RELEASE:
            before = {s for s in st["blocks"] if st["blocks"][s]["status"] == "done"}
            ctx.compensate()  # unblock every block the targets confirmed; later ones in _block_answered
            st["undo"].extend(f"{s}~undo" for s in sorted(before))
            self._maybe_finish(ctx)
            return
        hold = st["hold"]
        ctx.raise_exception(
            "hold-disposition", f"hold {ctx.key} on {hold['item_id']} lot {hold['lot'] or '-'} ended with "
            f"disposition {release.disposition.value}; the stock stays blocked in the WMS and the ERP",
            f"post the {release.disposition.value.replace('_', ' ')} from blocked stock in the ERP and "
            "remove the lot in the WMS", plant=hold["plant"], lot=hold["lot"],
            disposition=release.disposition.value, note=release.note)
        ctx.finish(f"disposition-{release.disposition.value}")

    def _maybe_finish(self, ctx: Context) -> None:
        st = ctx.state
        waiting = any(b["status"] in ("sent", "overdue") for b in st["blocks"].values())
        if st.get("release") == Disposition.RELEASE.value and not st["undo"] and not waiting:
            ctx.finish("released")
