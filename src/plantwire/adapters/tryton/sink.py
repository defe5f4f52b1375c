"""The Tryton sink: canonical ERP commands -> Tryton documents, never posting one key twice.

Every document the sink creates carries ``PW:<idempotency key>`` in its ``reference`` (a field Tryton
keeps and shows); before writing, the sink looks that reference up and, when found, finishes what a
crash may have left half done and answers the existing document. Production postings have no
document of their own: their key digests are kept in the production's ``reference`` ledger, written
in the same `write` as the moves they stand for (one Tryton transaction).

- GOODS_RECEIPT_FOR_PO: a supplier shipment with the PO line's move: receive, put away into the
  mapped location, done. A receipt made in Tryton itself (text names ``TRYTON-IS-<n>``) is answered
  with that shipment: it is already posted.
- GOODS_ISSUE_TO_ORDER / GOODS_RECEIPT_FROM_ORDER: the actual quantities become the production's
  input / output moves (the planned BOM moves are dropped at the first posting); once the outputs
  reach the production quantity and the inputs cover the BOM, the production is run and done.
- TRANSFER, BLOCK, UNBLOCK: an internal shipment (blocked stock = the warehouse's blocked location).
- reverse_document: Tryton cannot cancel a done document; refused for a person to post a return.
- post_financial_document: Tryton drafts the supplier invoice from the purchase itself; answered with it.
- update_po_lines: changed quantity or date is written on the line's pending move; rejected cancels it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from plantwire.adapters.simfeed import parse_command
from plantwire.adapters.tryton import translate as t
from plantwire.adapters.tryton.client import TrytonClient, TrytonWarning
from plantwire.adapters.tryton.mapping import TrytonIds, TrytonMapping
from plantwire.domain.commands import (
    Movement,
    PostFinancialDocument,
    PostGoodsMovement,
    ReverseDocument,
    UpdatePurchaseOrderLines,
)
from plantwire.errors import BusinessRuleViolation
from plantwire.ports import Command

Json = dict[str, Any]
SAFE_WARNINGS: dict[str, tuple[str, ...]] = {
    Movement.BLOCK.value: ("stock.move.no_origin", "no_origin"),
    Movement.UNBLOCK.value: ("stock.move.no_origin", "no_origin"),
    Movement.TRANSFER.value: ("stock.move.no_origin", "no_origin"),
}
"""Tryton warnings a movement may acknowledge (by name fragment): moves between own bins need no origin."""


class TrytonSink:
    """Carries out ("erp", name) commands in Tryton."""

    def __init__(self, client: TrytonClient, mapping: TrytonMapping) -> None:
        self.client, self.mapping = client, mapping
        self.ids = TrytonIds(client.search_read)
        self.created = 0
        """Documents (or production postings) this sink wrote in Tryton."""
        self.existing = 0
        """Duplicates prevented: check-before-write found the key's document (or ledger mark) there."""
        self.answered = 0
        """Commands answered with what Tryton made itself (its own receipts, its drafted invoices): no write,
        and no duplicate either."""
        self._handlers: dict[str, Callable[[str, Any], Json]] = {
            "post_goods_movement": self.post_goods_movement, "reverse_document": self.reverse_document,
            "post_financial_document": self.post_financial_document, "update_po_lines": self.update_po_lines}

    def execute(self, idempotency_key: str, command: Command) -> Json:
        """Run one command; the same key never takes effect twice."""
        model = parse_command("erp", command)
        return self._handlers[command.name](idempotency_key, model)

    # -- helpers ----------------------------------------------------------------------------------
    def _button(self, model: str, button: str, ids: list[int], safe: tuple[str, ...] = ()) -> None:
        """Press a workflow button; acknowledge a warning only when its name is declared safe."""
        for _ in range(3):
            try:
                self.client.model(model, button, ids)
                return
            except TrytonWarning as warning:
                if not any(s in warning.name for s in safe):
                    raise
                self.client.skip_warning(warning.name)
        raise BusinessRuleViolation(f"tryton kept warning on {model}.{button}")

    def _loc(self, golden: str) -> int:
        return self.ids.id("location", self.mapping.locations.to_system(golden))

    def _warehouse(self, plant: str) -> tuple[int, str]:
        code = self.mapping.plants.to_system(plant)
        return self.ids.id("location", code), code

    def _find(self, model: str, ref: str, fields: list[str]) -> Json | None:
        rows = self.client.search_read(model, [["reference", "=", ref]], ["id", "state", *fields])
        return rows[0] if rows else None

    def _answer(self, model: str, row: Json, existing: bool, *, own: bool = False, **extra: Any) -> Json:
        if own:
            self.answered += 1
        elif existing:
            self.existing += 1
        else:
            self.created += 1
        return {"document": t.document(model, row["id"]), "number": row.get("number"),
                "state": row.get("state"), "existing": existing, **extra}

    # -- goods movements --------------------------------------------------------------------------
    def post_goods_movement(self, key: str, cmd: PostGoodsMovement) -> Json:
        """One goods movement as the Tryton document that stands for it."""
        kind = cmd.movement
        if kind is Movement.GOODS_RECEIPT_FOR_PO:
            return self._receipt_for_po(key, cmd)
        if kind in (Movement.GOODS_ISSUE_TO_ORDER, Movement.GOODS_RECEIPT_FROM_ORDER):
            return self._production_posting(key, cmd)
        return self._internal(key, cmd)

    def _internal(self, key: str, cmd: PostGoodsMovement) -> Json:
        ref, model = t.reference(key), "stock.shipment.internal"
        wh_id, wh_code = self._warehouse(cmd.plant)
        src = self._loc(cmd.storage_location)
        if cmd.movement is Movement.TRANSFER:
            if cmd.to_location is None:
                raise BusinessRuleViolation("a transfer needs to_location")
            dst = self._loc(cmd.to_location)
        else:
            dst = self.ids.id("location", self.mapping.blocked_location(wh_code))
            if cmd.movement is Movement.UNBLOCK:
                src, dst = dst, src
        found = self._find(model, ref, ["number"])
        existing = found is not None
        if found is None:
            today = dt.date.today()
            product = self.ids.id("product", self.mapping.items.to_system(cmd.item_id))
            unit = self.ids.id("unit", self.mapping.units.to_system(cmd.quantity.uom))
            move = {"product": product, "unit": unit, "quantity": float(cmd.quantity.value),
                    "from_location": src, "to_location": dst, "company": self.client.context.get("company"),
                    "planned_date": today}
            self.client.model(model, "create", [{
                "reference": ref, "from_location": src, "to_location": dst, "planned_date": today,
                "planned_start_date": today, "moves": [["create", [move]]]}])
            found = self._find(model, ref, ["number"])
            assert found is not None
        self._finish_internal(found, SAFE_WARNINGS.get(cmd.movement.value, ()))
        done = self._find(model, ref, ["number"]) or found
        return self._answer(model, done, existing, lot=cmd.lot)

    def _finish_internal(self, shipment: Json, safe: tuple[str, ...]) -> None:
        model, ids = "stock.shipment.internal", [shipment["id"]]
        state = shipment["state"]
        if state == "draft":
            self._button(model, "wait", ids, safe)
            state = "waiting"
        if state == "waiting":
            self._button(model, "assign_try", ids, safe)
            state = self.client.search_read(model, [["id", "=", shipment["id"]]], ["state"])[0]["state"]
            if state != "assigned":
                raise BusinessRuleViolation(
                    f"tryton cannot reserve the stock for internal shipment {shipment['id']} "
                    f"({shipment.get('number') or 'draft'}): not enough on hand at the source location")
        if state == "assigned":
            self._button(model, "do", ids, safe)

    def _receipt_for_po(self, key: str, cmd: PostGoodsMovement) -> Json:
        model, ref = "stock.shipment.in", t.reference(key)
        own = t.receipt_of(cmd.text)
        if own is not None:  # a receipt Tryton itself reported: it is posted already
            rows = self.client.search_read(model, [["number", "=", own]], ["id", "state", "number"])
            if rows:
                return self._answer(model, rows[0], True, own=True)
        found = self._find(model, ref, ["number"])
        existing = found is not None
        if found is None:
            found = self._create_receipt(ref, cmd)
        sid = [found["id"]]
        if found["state"] == "draft":
            self._button(model, "receive", sid)
            found["state"] = "received"
        if found["state"] == "received":
            stored = self.client.search_read(model, [["id", "=", found["id"]]], ["inventory_moves"])[0]
            self.client.model("stock.move", "write", stored["inventory_moves"],
                              {"to_location": self._loc(cmd.storage_location)})
            self._button(model, "do", sid)
        done = self._find(model, ref, ["number"]) or found
        return self._answer(model, done, existing)

    def _create_receipt(self, ref: str, cmd: PostGoodsMovement) -> Json:
        po = self.client.search_read("purchase.purchase", [["number", "=", cmd.po_number]],
                                     ["id", "lines", "party", "warehouse", "state"])
        if not po:
            raise BusinessRuleViolation(f"tryton has no purchase {cmd.po_number}")
        numbers = {n: line_id for line_id, n in t.line_numbers(po[0]["lines"]).items()}
        line_id = numbers.get(cmd.po_line or 0)
        if line_id is None:
            raise BusinessRuleViolation(f"tryton purchase {cmd.po_number} has no line {cmd.po_line}")
        moves = self.client.search_read("stock.move", [["origin", "=", f"purchase.line,{line_id}"],
                                                       ["state", "=", "draft"], ["shipment", "=", None]],
                                        ["id", "quantity"])
        if not moves:
            raise BusinessRuleViolation(f"tryton purchase {cmd.po_number} line {cmd.po_line} has no "
                                        "pending move to receive (received already or cancelled)")
        if Decimal(str(moves[0]["quantity"])) != cmd.quantity.value:
            self.client.model("stock.move", "write", [moves[0]["id"]],
                              {"quantity": float(cmd.quantity.value)})
        wh = self.client.search_read("stock.location", [["id", "=", po[0]["warehouse"]]],
                                     ["input_location", "storage_location"])[0]
        self.client.model("stock.shipment.in", "create", [{
            "supplier": po[0]["party"], "warehouse": po[0]["warehouse"], "reference": ref,
            "warehouse_input": wh["input_location"], "warehouse_storage": wh["storage_location"],
            "incoming_moves": [["add", [moves[0]["id"]]]]}])
        found = self._find("stock.shipment.in", ref, ["number"])
        assert found is not None
        return found

    # -- production -------------------------------------------------------------------------------
    def _production(self, order_id: str) -> Json:
        rows = self.client.search_read("production", [["number", "=", order_id]],
                                       ["id", "state", "reference", "quantity", "bom", "product", "unit",
                                        "location", "company", "inputs", "outputs"])
        if not rows:
            raise BusinessRuleViolation(f"tryton has no production {order_id}")
        return rows[0]

    def _production_posting(self, key: str, cmd: PostGoodsMovement) -> Json:
        if cmd.order_id is None:
            raise BusinessRuleViolation("a production posting needs order_id")
        prod = self._production(cmd.order_id)
        if t.in_ledger(prod["reference"], key):
            self._maybe_close(prod)
            return self._answer("production", self._production(cmd.order_id), True, order=cmd.order_id)
        if prod["state"] in ("done", "cancelled"):
            raise BusinessRuleViolation(f"tryton production {cmd.order_id} is {prod['state']}; "
                                        f"post {cmd.quantity.value} {cmd.quantity.uom} {cmd.item_id} by hand")
        product = self.ids.id("product", self.mapping.items.to_system(cmd.item_id))
        unit = self.ids.id("unit", self.mapping.units.to_system(cmd.quantity.uom))
        there = self._loc(cmd.storage_location)
        issue = cmd.movement is Movement.GOODS_ISSUE_TO_ORDER
        move = {"product": product, "unit": unit, "quantity": float(cmd.quantity.value),
                "from_location": there if issue else prod["location"],
                "to_location": prod["location"] if issue else there, "company": prod["company"]}
        if not issue:
            move.update(unit_price=Decimal(0), currency=self.client.context.get("currency") or 1)
        values: Json = {"reference": t.ledger_add(prod["reference"], key),
                        "inputs" if issue else "outputs": [["create", [move]]]}
        if not str(prod["reference"] or "").startswith(t.MARK):
            self._drop_plan(prod, values)
        self.client.model("production", "write", [prod["id"]], values)
        self._maybe_close(self._production(cmd.order_id))
        return self._answer("production", self._production(cmd.order_id), False, order=cmd.order_id)

    def _drop_plan(self, prod: Json, values: Json) -> None:
        """At the first posting: the planned moves give way to the reported ones (plan kept to compare)."""
        planned = prod["inputs"] + prod["outputs"]
        # cancel runs in its own Tryton transaction: if the write below is refused (a UserError), the
        # moves stay cancelled, and a redrive must not cancel them again (Tryton refuses that)
        rows = (self.client.search_read("stock.move", [["id", "in", planned]], ["id", "state"])
                if planned else [])
        live = [m["id"] for m in rows if m["state"] not in ("cancelled", "done")]
        if live:
            self.client.model("stock.move", "cancel", live)
        for field, ids in (("inputs", prod["inputs"]), ("outputs", prod["outputs"])):
            if ids:
                values.setdefault(field, []).insert(0, ["delete", ids])

    def _maybe_close(self, prod: Json) -> None:
        """Run and finish the production once the outputs reach its quantity and inputs cover the BOM."""
        if prod["state"] not in ("waiting", "assigned", "running"):
            return
        fields = ["quantity", "product", "state"]
        moves = self.client.search_read("stock.move", [["id", "in", prod["inputs"] + prod["outputs"]]],
                                        ["id", *fields, "production_input"])
        out = sum(Decimal(str(m["quantity"])) for m in moves if not m["production_input"])
        if out < Decimal(str(prod["quantity"])):
            return
        used: dict[int, Decimal] = {}
        for m in moves:
            if m["production_input"]:
                used[m["product"]] = used.get(m["product"], Decimal(0)) + Decimal(str(m["quantity"]))
        for need in self._bom_need(prod):
            if used.get(need["product"], Decimal(0)) < Decimal(str(need["quantity"])):
                return
        ids = [prod["id"]]
        if prod["state"] == "waiting":
            self._button("production", "assign_try", ids)
        if self._production_state(prod["id"]) == "assigned":
            self._button("production", "run", ids)
        if self._production_state(prod["id"]) == "running":
            self._button("production", "do", ids)

    def _production_state(self, pid: int) -> str:
        return str(self.client.search_read("production", [["id", "=", pid]], ["state"])[0]["state"])

    def _bom_need(self, prod: Json) -> list[Json]:
        if not prod.get("bom"):
            return []
        values = {"product": prod["product"], "bom": prod["bom"], "quantity": prod["quantity"],
                  "unit": prod["unit"], "location": prod["location"], "company": prod["company"],
                  "inputs": [], "outputs": [], "type": "assembly"}
        changes = self.client.model("production", "on_change", values, ["bom"])
        found = [c for c in changes if isinstance(c, dict)] if isinstance(changes, list) else [changes]
        needs = []
        for change in found:
            for _, move in (change.get("inputs") or {}).get("add", []):
                needs.append({"product": move["product"], "quantity": move["quantity"]})
        return needs

    # -- the rest ---------------------------------------------------------------------------------
    def reverse_document(self, key: str, cmd: ReverseDocument) -> Json:
        """Tryton cannot cancel a done stock document; a person posts the return."""
        raise BusinessRuleViolation(f"tryton cannot cancel done document {cmd.document}; post a return "
                                    f"shipment in Tryton ({cmd.reason or 'reversal requested'})")

    def post_financial_document(self, key: str, cmd: PostFinancialDocument) -> Json:
        """Tryton drafts the supplier invoice from the purchase; answer it as the financial document."""
        po = self.client.search_read("purchase.purchase", [["number", "=", cmd.po_number]],
                                     ["id", "invoices", "invoice_state"])
        if not po:
            raise BusinessRuleViolation(f"tryton has no purchase {cmd.po_number}")
        invoices = po[0]["invoices"]
        self.answered += 1  # nothing written, nothing looked up by key: not a prevented duplicate
        return {"document": t.document("account.invoice", invoices[0]) if invoices else None,
                "invoice_state": po[0]["invoice_state"], "receipt_document": cmd.receipt_document,
                "existing": True}

    def update_po_lines(self, key: str, cmd: UpdatePurchaseOrderLines) -> Json:
        """The supplier's changes on the purchase's pending moves (rewriting the same values is harmless)."""
        po = self.client.search_read("purchase.purchase", [["number", "=", cmd.po_number]], ["id", "lines"])
        if not po:
            raise BusinessRuleViolation(f"tryton has no purchase {cmd.po_number}")
        numbers = {n: line_id for line_id, n in t.line_numbers(po[0]["lines"]).items()}
        changed = 0
        for line in cmd.lines:
            origin = f"purchase.line,{numbers[line.line]}"
            moves = self.client.search_read("stock.move", [["origin", "=", origin], ["state", "=", "draft"]],
                                            ["id"])
            ids = [m["id"] for m in moves]
            if not ids or line.status.value == "accepted":
                continue
            if line.status.value == "rejected":
                self.client.model("stock.move", "cancel", ids)
            else:
                values: Json = {}
                if line.quantity is not None:
                    values["quantity"] = float(line.quantity.value)
                if line.delivery_date is not None:
                    values["planned_date"] = line.delivery_date
                if values:
                    self.client.model("stock.move", "write", ids, values)
            changed += 1
        return {"po_number": cmd.po_number, "revision": cmd.revision, "lines_changed": changed}

    def close(self) -> None:
        """Release connections."""
        self.client.close()
