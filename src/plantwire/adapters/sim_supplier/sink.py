"""The supplier sink: ``supplier.send_purchase_order`` -> the portal's PO endpoint.

The portal dedupes on PO number + revision, the business identity of what is sent, so a retry after
a timeout answers the order it already received instead of placing it twice.
"""

from __future__ import annotations

from typing import Any, cast

from plantwire.adapters.sim_supplier import translate as t
from plantwire.adapters.sim_supplier.client import SupplierClient
from plantwire.adapters.sim_supplier.mapping import SYSTEM, SupplierMapping
from plantwire.adapters.simfeed import parse_command
from plantwire.domain.commands import SendPurchaseOrder
from plantwire.ports import Command

Json = dict[str, Any]


class SupplierSink:
    """Carries out ("supplier", name) commands in the supplier portal."""

    def __init__(self, base_url: str, mapping: SupplierMapping | None = None, timeout: float = 10.0) -> None:
        self.client = SupplierClient(base_url, timeout)
        self.mapping = mapping or SupplierMapping()

    def execute(self, idempotency_key: str, command: Command) -> Json:
        """Run one command; the same PO revision is never placed twice."""
        cmd = cast(SendPurchaseOrder, parse_command(SYSTEM, command))
        return t.sent(self.client.send_purchase_order(t.purchase_order(cmd, self.mapping)))

    def close(self) -> None:
        """Release connections."""
        self.client.close()
