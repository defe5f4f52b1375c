"""Flow 4, "po-ack": an approved PO revision goes to the supplier, who must acknowledge it in time.

One instance per PO revision (key ``<po>|r<revision>``), so an acknowledgment always meets the
revision it answers, whichever arrives first. Steps and what can go wrong:

1. procurement.po.approved -> supplier.send_purchase_order. No compensation: the supplier API
   has no "unsend", and a cancelled or changed PO is a new revision the ERP approves (and this
   flow sends) in its own right.
2. The send is confirmed -> the SLA clock starts: ``ack_sla_working_hours`` on the plant calendar.
3. procurement.supplier.acknowledged, per line: accepted -> nothing to do; changed -> the ERP PO
   lines take the supplier's quantity or date; rejected (or changed to zero) -> the ERP lines are
   marked rejected and a "po-rejected" exception goes to the buyer. One erp.update_po_lines per
   acknowledgment; no compensation (the supplier's answer stands, there is nothing to undo).
   Lines an acknowledgment leaves out stay open; the instance finishes when every line has an
   answer and the ERP took every update.
4. The SLA passes first -> "ack-sla-missed" with the aging in working hours; the instance keeps
   waiting and a late acknowledgment is still processed (and noted as late).
A newer revision supersedes this one: its own instance sends it and runs a fresh SLA, and this one
stands down when its timer fires or its acknowledgment comes (no ERP update from a stale answer).
An acknowledgment seen before the approval is kept; the approval then does not send the PO again
(the supplier evidently has it) and the kept answer is processed at once.
"""

from __future__ import annotations

from typing import Any

from plantwire.domain.commands import SendPurchaseOrder, UpdatePurchaseOrderLines
from plantwire.domain.procurement import AckStatus, PurchaseOrderApproved, SupplierAcknowledged
from plantwire.flows.api import (
    Command,
    CommandDone,
    CommandFailed,
    Context,
    EventInput,
    FlowInput,
    TimerFired,
)
from plantwire.flows.catalog.calendar import PlantCalendar, add_working_time, working_hours_between
from plantwire.flows.catalog.procurement_settings import ProcurementSettings

__all__ = ["APPROVED", "ACKNOWLEDGED", "PoAck", "instance_key"]

APPROVED = "procurement.po.approved"
ACKNOWLEDGED = "procurement.supplier.acknowledged"
SLA_TIMER = "ack-sla"


def instance_key(po_number: str, revision: int) -> str:
    """The instance of one PO revision."""
    return f"{po_number}|r{revision}"


class PoAck:
    """Send an approved PO revision and see its acknowledgment through, on the plant calendar."""

    name = "po-ack"
    version = 1
    types = frozenset({APPROVED, ACKNOWLEDGED})

    def __init__(self, settings: ProcurementSettings) -> None:
        self.settings = settings

    def key_of(self, event: EventInput) -> str | None:
        return instance_key(str(event.data["po_number"]), int(event.data["revision"]))

    def starts(self, event: EventInput) -> bool:
        return event.type in self.types

    def react(self, ctx: Context, inp: FlowInput) -> None:
        st = ctx.state
        st.setdefault("po", None)
        st.setdefault("acks", [])
        st.setdefault("early_acks", [])
        st.setdefault("lines", {})
        st.setdefault("pending_updates", [])
        st.setdefault("notes", [])
        if isinstance(inp, EventInput) and inp.type == APPROVED:
            self._approved(ctx, inp.data)
        elif isinstance(inp, EventInput):
            self._acknowledged(ctx, inp.data)
        elif isinstance(inp, TimerFired) and inp.name == SLA_TIMER:
            self._sla_missed(ctx)
        elif isinstance(inp, CommandDone) and inp.step == "send-po":
            self._sent(ctx)
        elif isinstance(inp, CommandFailed) and inp.step == "send-po":
            po = st["po"]
            ctx.raise_exception(
                "po-send-failed", f"PO {po['po_number']} rev {po['revision']} could not be sent to supplier "
                f"{po['supplier_id']}: {inp.message}", f"send the PO to supplier {po['supplier_id']} by "
                "another channel, or fix the supplier connection and redrive",
                supplier=po["supplier_id"], plant=po["plant"], po_number=po["po_number"])
        elif isinstance(inp, CommandDone | CommandFailed) and inp.step.startswith("update:"):
            if isinstance(inp, CommandFailed):
                self._update_failed(ctx, inp)
            st["pending_updates"] = [s for s in st["pending_updates"] if s != inp.step]
            self._maybe_finish(ctx)

    def _approved(self, ctx: Context, data: dict[str, Any]) -> None:
        st = ctx.state
        if st["po"] is not None:
            return  # the same revision approved again: already sent
        po = PurchaseOrderApproved.model_validate(data)
        st["po"] = {"po_number": po.po_number, "revision": po.revision, "plant": po.plant,
                    "supplier_id": po.supplier_id, "lines": {str(ln.line): ln.item_id for ln in po.lines}}
        st["lines"] = {str(ln.line): None for ln in po.lines}
        if st["early_acks"]:
            st["notes"].append("acknowledged before approval reached the hub; PO not sent again")
            st["sent_at"] = ctx.now
            early, st["early_acks"] = st["early_acks"], []
            for ack in early:
                self._acknowledged(ctx, ack)
            return
        command = SendPurchaseOrder.model_validate({
            "po_number": po.po_number, "revision": po.revision, "plant": po.plant,
            "supplier_id": po.supplier_id, "currency": po.currency,
            "lines": [{k: v for k, v in ln.items() if k != "storage_location"}
                      for ln in po.model_dump(mode="json")["lines"]]})
        # compensation: none; a supplier cannot "unreceive" a PO, a cancellation is a new revision
        ctx.send("send-po", Command("supplier", "send_purchase_order", command.model_dump(mode="json")),
                 compensation=None)

    def _sent(self, ctx: Context) -> None:
        st = ctx.state
        if st.get("sent_at") is not None or self._all_answered(st):
            return
        st["sent_at"] = ctx.now
        st["sla_due"] = add_working_time(ctx.now, self.settings.ack_sla_working_hours, self._calendar(st))
        ctx.start_timer(SLA_TIMER, st["sla_due"])

    def _acknowledged(self, ctx: Context, data: dict[str, Any]) -> None:
        st = ctx.state
        ack = SupplierAcknowledged.model_validate(data)
        if ack.ack_id in st["acks"] or any(a["ack_id"] == ack.ack_id for a in st["early_acks"]):
            return  # the same acknowledgment again
        if st["po"] is None:
            st["early_acks"].append(ack.model_dump(mode="json"))
            return
        st["acks"].append(ack.ack_id)
        if self._superseded(ctx):
            st["notes"].append(f"acknowledgment {ack.ack_id} answers a superseded revision; ignored")
            ctx.cancel_timer(SLA_TIMER)
            ctx.finish("superseded")
            return
        if st.get("sla_missed"):
            late = working_hours_between(st["sent_at"], ctx.now, self._calendar(st))
            st["notes"].append(f"acknowledgment {ack.ack_id} came late, after {late:.1f} working hours")
            st["late_by_working_hours"] = round(late - self.settings.ack_sla_working_hours, 2)
        self._apply_lines(ctx, ack)

    def _apply_lines(self, ctx: Context, ack: SupplierAcknowledged) -> None:
        st, po = ctx.state, ctx.state["po"]
        updates: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for line in ack.lines:
            if str(line.line) not in st["lines"]:
                st["notes"].append(f"acknowledgment {ack.ack_id} names line {line.line}, not on the PO")
                continue
            status = line.status
            if status is AckStatus.CHANGED and line.quantity is not None and line.quantity.value == 0:
                status = AckStatus.REJECTED  # a change to nothing is a rejection
            st["lines"][str(line.line)] = status.value
            if status is AckStatus.CHANGED:
                updates.append({k: v for k, v in line.model_dump(mode="json").items() if k != "reason"})
            elif status is AckStatus.REJECTED:
                updates.append({"line": line.line, "status": status.value})
                rejected.append({"line": line.line, "item_id": po["lines"][str(line.line)],
                                 "reason": line.reason})
        if updates:
            command = UpdatePurchaseOrderLines.model_validate(
                {"po_number": po["po_number"], "revision": po["revision"], "lines": updates})
            step = f"update:{ack.ack_id}"
            # compensation: none; the ERP now says what the supplier committed to, nothing to undo
            ctx.send(step, Command("erp", "update_po_lines", command.model_dump(mode="json")))
            st["pending_updates"].append(step)
        if rejected:
            described = ", ".join(f"line {r['line']} ({r['item_id']})" + (f": {r['reason']}" if r["reason"]
                                                                          else "") for r in rejected)
            ctx.raise_exception(
                "po-rejected", f"supplier {po['supplier_id']} rejected PO {po['po_number']} "
                f"rev {po['revision']} {described}", "source the rejected lines from another supplier "
                "or renegotiate, then approve a new PO revision",
                supplier=po["supplier_id"], plant=po["plant"], po_number=po["po_number"], lines=rejected)
        if self._all_answered(st):
            ctx.cancel_timer(SLA_TIMER)
        self._maybe_finish(ctx)

    def _sla_missed(self, ctx: Context) -> None:
        st, po = ctx.state, ctx.state["po"]
        if self._superseded(ctx):
            st["notes"].append("SLA of a superseded revision passed; the newer revision runs its own")
            ctx.finish("superseded")
            return
        st["sla_missed"] = True
        aging = working_hours_between(st["sent_at"], ctx.now, self._calendar(st))
        open_lines = sorted(int(n) for n, s in st["lines"].items() if s is None)
        ctx.raise_exception(
            "ack-sla-missed", f"supplier {po['supplier_id']} has not acknowledged PO {po['po_number']} "
            f"rev {po['revision']} (lines {open_lines}) after {aging:.1f} working hours "
            f"(SLA {self.settings.ack_sla_working_hours:g})", f"chase supplier {po['supplier_id']}",
            supplier=po["supplier_id"], plant=po["plant"], po_number=po["po_number"],
            aging_working_hours=round(aging, 2), open_lines=open_lines)

    def _update_failed(self, ctx: Context, inp: CommandFailed) -> None:
        po = ctx.state["po"]
        ctx.raise_exception(
            "po-update-failed", f"the ERP refused the supplier's changes to PO {po['po_number']} "
            f"rev {po['revision']}: {inp.message}", "apply the acknowledged changes to the PO in the "
            "ERP by hand", supplier=po["supplier_id"], plant=po["plant"], po_number=po["po_number"],
            lines=inp.command.payload.get("lines"))

    def _maybe_finish(self, ctx: Context) -> None:
        st = ctx.state
        if st["po"] is None or not self._all_answered(st) or st["pending_updates"]:
            return
        ctx.finish("+".join(sorted(set(st["lines"].values()))))

    @staticmethod
    def _all_answered(st: dict[str, Any]) -> bool:
        return bool(st["lines"]) and all(s is not None for s in st["lines"].values())

    def _superseded(self, ctx: Context) -> bool:
        """Whether an instance of a newer revision of this PO exists (instances are read-only here)."""
        po = ctx.state["po"]
        keys = [k for k, _ in ctx.scan(f"flow:{self.name}", f"{po['po_number']}|r")]
        return any(int(k.rsplit("|r", 1)[1]) > po["revision"] for k in keys)

    def _calendar(self, st: dict[str, Any]) -> PlantCalendar:
        return self.settings.calendar_for(st["po"]["plant"])
