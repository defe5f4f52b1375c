"""The Oracle Fusion sink: erp.post_goods_movement (goods receipt for a PO) -> receivingReceiptRequests.

The idempotency reference travels in the receipt header's Comments; the sink looks it up before
writing, so a retry after a timeout finds the request Fusion already accepted.
"""

from __future__ import annotations

import hashlib
from typing import Any

from plantwire.adapters.oracle_fusion import translate as t
from plantwire.adapters.oracle_fusion.client import OracleClient
from plantwire.adapters.oracle_fusion.mapping import RECEIPT, OracleMapping
from plantwire.domain.commands import PostGoodsMovement
from plantwire.errors import PermanentError
from plantwire.ports import Command


def reference(key: str) -> str:
    """The key when it fits 240 characters of Comments, else a stable hash."""
    return key if len(key) <= 240 else "PW-" + hashlib.sha256(key.encode()).hexdigest()


class OracleSink:
    """Carries out ("erp", "post_goods_movement") receipts in Oracle Fusion."""

    def __init__(self, client: OracleClient, mapping: OracleMapping | None = None) -> None:
        self.client, self.mapping = client, mapping or OracleMapping()

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        if (command.target, command.name) != ("erp", "post_goods_movement"):
            raise PermanentError(f"the Oracle Fusion sink cannot execute {command.target}.{command.name}")
        cmd = PostGoodsMovement.model_validate(command.payload)
        ref = reference(idempotency_key)
        body = t.emit_receipt_request(cmd, ref, self.mapping)
        quoted = ref.replace("'", "''")
        found = self.client.find("receipts", f"{RECEIPT['reference']}='{quoted}'").get("items") or []
        if found:
            return {"request": found[0].get("HeaderInterfaceId"), "existing": True}
        created = self.client.create("receipts", body)
        return {"request": created.get("HeaderInterfaceId"), "existing": False}
