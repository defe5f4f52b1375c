"""The ERP sink: canonical ERP commands -> BAPI-shaped calls, never posting one key twice.

The idempotency key travels as REF_DOC_NO (or REF for PO confirmations), which the ERP dedupes on.
A key longer than 40 characters becomes a deterministic hash reference, and then the sink also looks
the reference up before writing, so a retry after a timeout finds the document the ERP committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plantwire.adapters.sim_erp import translate as t
from plantwire.adapters.sim_erp.client import ErpClient
from plantwire.adapters.sim_erp.mapping import SYSTEM, ErpMapping
from plantwire.adapters.simfeed import parse_command
from plantwire.domain.commands import (
    PostFinancialDocument,
    PostGoodsMovement,
    ReverseDocument,
    UpdatePurchaseOrderLines,
)
from plantwire.ports import Command

Json = dict[str, Any]


class ErpSink:
    """Carries out ("erp", name) commands in the ERP simulator."""

    def __init__(self, base_url: str, mapping: ErpMapping | None = None, timeout: float = 10.0) -> None:
        self.client = ErpClient(base_url, timeout)
        self.mapping = mapping or ErpMapping()
        self._handlers: dict[str, Callable[[str, Any], Json]] = {
            "post_goods_movement": self.post_goods_movement,
            "reverse_document": self.reverse_document,
            "post_financial_document": self.post_financial_document,
            "update_po_lines": self.update_po_lines,
        }

    def execute(self, idempotency_key: str, command: Command) -> Json:
        """Run one command; the same key never takes effect twice."""
        model = parse_command(SYSTEM, command)
        return self._handlers[command.name](idempotency_key, model)

    def post_goods_movement(self, key: str, cmd: PostGoodsMovement) -> Json:
        """One material document (261, 101, 311, 344, 343)."""
        ref = t.reference(key)
        if ref != key:
            found = self.client.find_goods_movements(ref)
            if found:
                return t.posted({"DOCUMENT": found[0], "EXISTING": True})
        return t.posted(self.client.post_goods_movement(t.goods_movement(cmd, ref, self.mapping)))

    def reverse_document(self, key: str, cmd: ReverseDocument) -> Json:
        """A reversal document for a material document (compensation)."""
        ref = t.reference(key)
        if ref != key:
            found = self.client.find_goods_movements(ref)
            if found:
                return t.posted({"DOCUMENT": found[0], "EXISTING": True})
        number, body = t.reversal(cmd, ref)
        return t.posted(self.client.reverse(number, body))

    def post_financial_document(self, key: str, cmd: PostFinancialDocument) -> Json:
        """The accounting document of a goods receipt to a PO (at most one per receipt in the ERP)."""
        ref = t.reference(key)
        found = self.client.find_accounting(ref)
        if found:
            return t.accounting_posted({**found[0], "EXISTING": True})
        number, year = t.document_key(cmd.receipt_document)
        t.check_receipt(self.client.goods_movement(number, year), cmd, self.mapping)
        return t.accounting_posted(self.client.post_accounting(t.accounting(cmd, ref)))

    def update_po_lines(self, key: str, cmd: UpdatePurchaseOrderLines) -> Json:
        """Record the supplier's acknowledgment on the ERP PO (ACCEPT / CHANGE / REJECT per line)."""
        body = t.po_confirmation(cmd, t.reference(key), self.mapping)
        return t.po_updated(self.client.confirm_po(cmd.po_number, body))

    def close(self) -> None:
        """Release connections."""
        self.client.close()
