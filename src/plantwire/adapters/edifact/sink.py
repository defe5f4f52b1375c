"""The EDIFACT sink: supplier.send_purchase_order -> an ORDERS interchange in the outbox.

`emit_orders` is pure: the same command and idempotency key give the same bytes (the control
reference is derived from the key), and the file is named by the key, so a retry writes nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plantwire.adapters.edifact.client import FolderClient
from plantwire.adapters.edifact.outbound import control_ref, interchange
from plantwire.adapters.edifact.translate import orders_body
from plantwire.domain.commands import SendPurchaseOrder
from plantwire.errors import PermanentError
from plantwire.ports import Command

__all__ = ["EdifactSink", "emit_orders"]


def emit_orders(cmd: SendPurchaseOrder, *, key: str, sender: str, recipient: str, at: datetime) -> bytes:
    """An ORDERS D.96A interchange for one PO revision."""
    return interchange([("ORDERS", orders_body(cmd, at))], sender=sender, recipient=recipient,
                       ref=control_ref(key), at=at)


class EdifactSink:
    """Carries out ("supplier", "send_purchase_order") by writing an ORDERS file for the partner."""

    def __init__(self, client: FolderClient, *, our_id: str, partner_id: str) -> None:
        self.client, self.our_id, self.partner_id = client, our_id, partner_id

    def execute(self, idempotency_key: str, command: Command, at: datetime | None = None) -> dict[str, Any]:
        if (command.target, command.name) != ("supplier", "send_purchase_order"):
            raise PermanentError(f"EDIFACT sink cannot do {command.target}.{command.name}")
        cmd = SendPurchaseOrder.model_validate(command.payload)
        ref = control_ref(idempotency_key)
        when = at or datetime.fromisoformat("2000-01-01T00:00:00+00:00")
        data = emit_orders(cmd, key=idempotency_key, sender=self.our_id, recipient=self.partner_id, at=when)
        path = self.client.write(f"ORDERS_{ref}.edi", data)
        return {"interchange": ref, "file": path.name}
