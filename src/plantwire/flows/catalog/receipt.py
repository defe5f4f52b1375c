"""Flow 5, "receipt": goods received against a PO are posted in the ERP, stock then money.

One instance per PO (key: the PO number), fed by procurement.po.approved (what was ordered, the
latest revision wins) and procurement.goods.received (each receipt once, by receipt id; the ASN it
came against, if any, is carried into the posting text). Per receipt:

1. Check every line against the PO: the PO line exists, the item and unit match, and the quantity
   stays within the line's open quantity plus ``receipt_over_tolerance``. Any miss -> one
   "receipt-mismatch" exception listing them all, and nothing is posted.
2. erp.post_goods_movement GOODS_RECEIPT_FOR_PO per line, one after the other; each answers with
   its material document number. Compensation: erp.reverse_document of that document; it is
   declared in `_compensate`, not with `ctx.send`, because its payload needs the number the ERP
   only gives in the result.
3. erp.post_financial_document per goods-receipt document, one after the other (no compensation
   of its own: reversing the goods receipt reverses its valuation in the ERP).
4. A step fails for good -> the receipt's posted goods receipts are reversed, newest first, and a
   "posting-failed" exception says why; a reversal the ERP refuses is "compensation-failed".
A receipt whose PO the hub has not seen waits for it; after ``receipt_po_wait_seconds`` it raises
"receipt-po-unknown" and keeps waiting. The instance stays open for later deliveries of the PO.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plantwire.domain.commands import Movement, PostFinancialDocument, PostGoodsMovement, ReverseDocument
from plantwire.domain.procurement import GoodsReceived, PurchaseOrderApproved
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

__all__ = ["Receipt", "document_of"]

APPROVED = "procurement.po.approved"
RECEIVED = "procurement.goods.received"


def document_of(result: dict[str, Any]) -> str | None:
    """The document number in a sink's answer."""
    for name in ("document", "document_number", "material_document"):
        if result.get(name):
            return str(result[name])
    return None


class Receipt:
    """Post goods receipts of a PO to the ERP, or say why not."""

    name = "receipt"
    version = 1
    types = frozenset({APPROVED, RECEIVED})

    def __init__(self, settings: ProcurementSettings) -> None:
        self.settings = settings

    def key_of(self, event: EventInput) -> str | None:
        return str(event.data["po_number"])

    def starts(self, event: EventInput) -> bool:
        return True

    def react(self, ctx: Context, inp: FlowInput) -> None:
        st = ctx.state
        st.setdefault("po", None)
        st.setdefault("received", {})
        st.setdefault("receipts", {})
        if isinstance(inp, EventInput) and inp.type == APPROVED:
            self._approved(ctx, inp.data)
        elif isinstance(inp, EventInput):
            self._received(ctx, inp.data)
        elif isinstance(inp, TimerFired) and inp.name.startswith("po-wait:"):
            self._po_missing(ctx, inp.name.split(":", 1)[1])
        elif isinstance(inp, CommandDone | CommandFailed):
            kind, rid, _ = inp.step.split(":", 2)
            receipt = st["receipts"][rid]
            if isinstance(inp, CommandFailed):
                self._failed(ctx, rid, receipt, kind, inp)
            elif kind in ("gr", "fi"):
                receipt["docs" if kind == "gr" else "fi_docs"].append(document_of(inp.result))
                self._next(ctx, rid, receipt)

    def _approved(self, ctx: Context, data: dict[str, Any]) -> None:
        st = ctx.state
        po = PurchaseOrderApproved.model_validate(data)
        if st["po"] is not None and po.revision < st["po"]["revision"]:
            return
        st["po"] = {"revision": po.revision, "plant": po.plant, "supplier": po.supplier_id,
                    "currency": po.currency, "lines": {
                        str(ln.line): {"item_id": ln.item_id, "quantity": str(ln.quantity.value),
                                       "uom": ln.quantity.uom,
                                       "unit_price": None if ln.unit_price is None else str(ln.unit_price)}
                        for ln in po.lines}}
        for rid, receipt in st["receipts"].items():  # receipts that came first, in arrival order
            if receipt["status"] == "waiting-po":
                ctx.cancel_timer(f"po-wait:{rid}")
                self._check_and_post(ctx, rid, receipt)

    def _received(self, ctx: Context, data: dict[str, Any]) -> None:
        st = ctx.state
        gr = GoodsReceived.model_validate(data)
        if gr.receipt_id in st["receipts"]:
            return  # the same receipt again
        receipt = {"status": "waiting-po", "plant": gr.plant, "supplier": gr.supplier_id, "asn": gr.asn_id,
                   "lines": [{"line": ln.line, "po_line": ln.po_line, "item_id": ln.item_id,
                              "quantity": str(ln.quantity.value), "uom": ln.quantity.uom, "lot": ln.lot,
                              "storage_location": ln.storage_location} for ln in gr.lines],
                   "docs": [], "fi_docs": [], "reversed": []}
        st["receipts"][gr.receipt_id] = receipt
        if st["po"] is None:
            ctx.start_timer(f"po-wait:{gr.receipt_id}", ctx.now + self.settings.receipt_po_wait_seconds)
            return
        self._check_and_post(ctx, gr.receipt_id, receipt)

    def _mismatches(self, ctx: Context, receipt: dict[str, Any]) -> list[str]:
        po, received = ctx.state["po"], ctx.state["received"]
        issues: list[str] = []
        taking: dict[str, Decimal] = {}
        for ln in receipt["lines"]:
            po_line = po["lines"].get(str(ln["po_line"]))
            where = f"receipt line {ln['line']} (PO line {ln['po_line']})"
            if po_line is None:
                issues.append(f"{where}: {ln['item_id']} is not on the PO")
            elif po_line["item_id"] != ln["item_id"]:
                issues.append(f"{where}: item {ln['item_id']}, the PO line orders {po_line['item_id']}")
            elif po_line["uom"] != ln["uom"]:
                issues.append(f"{where}: unit {ln['uom']}, the PO line is in {po_line['uom']}")
            else:
                key = str(ln["po_line"])
                taking[key] = taking.get(key, Decimal(0)) + Decimal(ln["quantity"])
        for key, qty in taking.items():
            ordered = Decimal(po["lines"][key]["quantity"])
            open_qty = ordered - Decimal(received.get(key, "0"))
            allowed = open_qty + ordered * self.settings.receipt_over_tolerance
            if qty > allowed:
                issues.append(f"PO line {key}: receiving {qty} {po['lines'][key]['uom']} but only "
                              f"{max(open_qty, Decimal(0))} is open (tolerance allows up to {allowed})")
        return issues

    def _check_and_post(self, ctx: Context, rid: str, receipt: dict[str, Any]) -> None:
        po = ctx.state["po"]
        issues = self._mismatches(ctx, receipt)
        if issues:
            receipt["status"] = "mismatch"
            ctx.raise_exception(
                "receipt-mismatch", f"receipt {rid} against PO {ctx.key} does not match the PO: "
                + "; ".join(issues), "check the delivery with the warehouse and the supplier; post it in "
                "the ERP by hand or return the goods", plant=receipt["plant"],
                supplier=receipt["supplier"] or po["supplier"], receipt_id=rid, issues=issues)
            return
        self._take(ctx, receipt, +1)
        receipt["status"] = "posting"
        self._next(ctx, rid, receipt)

    def _take(self, ctx: Context, receipt: dict[str, Any], sign: int) -> None:
        received = ctx.state["received"]
        for ln in receipt["lines"]:
            key = str(ln["po_line"])
            received[key] = str(Decimal(received.get(key, "0")) + sign * Decimal(ln["quantity"]))

    def _next(self, ctx: Context, rid: str, receipt: dict[str, Any]) -> None:
        """Send the receipt's next posting: goods receipts line by line, then their financial side."""
        if receipt["status"] != "posting":
            return
        lines, docs, fi_docs = receipt["lines"], receipt["docs"], receipt["fi_docs"]
        if len(docs) < len(lines):
            ln = lines[len(docs)]
            gr = PostGoodsMovement.model_validate({
                "movement": Movement.GOODS_RECEIPT_FOR_PO, "plant": receipt["plant"],
                "item_id": ln["item_id"], "quantity": {"value": ln["quantity"], "uom": ln["uom"]},
                "storage_location": ln["storage_location"], "lot": ln["lot"], "po_number": ctx.key,
                "po_line": ln["po_line"],
                "text": f"GR {rid}" + (f" ASN {receipt['asn']}" if receipt["asn"] else "")})
            # compensation: erp.reverse_document of the number this returns, issued by _compensate
            command = Command("erp", "post_goods_movement", gr.model_dump(mode="json"))
            ctx.send(f"gr:{rid}:{ln['line']}", command)
        elif len(fi_docs) < len(docs):
            self._post_financial(ctx, rid, receipt, len(fi_docs))
        else:
            receipt["status"] = "posted"

    def _post_financial(self, ctx: Context, rid: str, receipt: dict[str, Any], n: int) -> None:
        po, ln, doc = ctx.state["po"], receipt["lines"][n], receipt["docs"][n]
        price = po["lines"][str(ln["po_line"])]["unit_price"]
        fi = PostFinancialDocument.model_validate({
            "po_number": ctx.key, "receipt_document": doc or f"{rid}/{ln['line']}", "plant": receipt["plant"],
            "amount": None if price is None else str(Decimal(price) * Decimal(ln["quantity"])),
            "currency": po["currency"]})
        # compensation: none of its own; reversing the goods receipt (see _compensate) reverses its value
        command = Command("erp", "post_financial_document", fi.model_dump(mode="json"))
        ctx.send(f"fi:{rid}:{ln['line']}", command)

    def _failed(self, ctx: Context, rid: str, receipt: dict[str, Any], kind: str, inp: CommandFailed) -> None:
        if kind == "undo":
            ctx.raise_exception(
                "compensation-failed", f"reversing goods receipt document {inp.command.payload['document']} "
                f"of receipt {rid} (PO {ctx.key}) failed: {inp.message}",
                f"reverse material document {inp.command.payload['document']} in the ERP by hand",
                plant=receipt["plant"], supplier=receipt["supplier"], receipt_id=rid)
            return
        receipt["status"] = "failed"
        self._take(ctx, receipt, -1)
        reversed_docs = self._compensate(ctx, rid, receipt)
        what = "goods receipt" if kind == "gr" else "financial posting"
        ctx.raise_exception(
            "posting-failed", f"the {what} of receipt {rid} (PO {ctx.key}) failed for good: {inp.message}; "
            f"goods receipt documents reversed: {reversed_docs or 'none'}",
            "fix the cause in the ERP (PO, prices, period, master data), then post the receipt there",
            plant=receipt["plant"], supplier=receipt["supplier"] or ctx.state["po"]["supplier"],
            receipt_id=rid, step=inp.step, error_class=inp.error_class, reversed=reversed_docs)

    def _compensate(self, ctx: Context, rid: str, receipt: dict[str, Any]) -> list[str]:
        """The compensation of each posted goods receipt ("gr:" steps): reverse it, newest first."""
        done: list[str] = []
        for n in reversed(range(len(receipt["docs"]))):
            doc = receipt["docs"][n]
            if doc is None:
                continue
            undo = ReverseDocument(document=doc, reason=f"posting of receipt {rid} failed")
            ctx.send(f"undo:{rid}:{receipt['lines'][n]['line']}",
                     Command("erp", "reverse_document", undo.model_dump(mode="json")))
            done.append(doc)
        receipt["reversed"] = done
        return done

    def _po_missing(self, ctx: Context, rid: str) -> None:
        receipt = ctx.state["receipts"].get(rid)
        if receipt is None or receipt["status"] != "waiting-po":
            return
        ctx.raise_exception(
            "receipt-po-unknown", f"receipt {rid} names PO {ctx.key}, which the hub has not seen approved "
            f"after {self.settings.receipt_po_wait_seconds / 3600:g} hours; nothing posted",
            "check the PO number with the warehouse; once the PO reaches the hub the receipt is posted",
            plant=receipt["plant"], supplier=receipt["supplier"], receipt_id=rid)
