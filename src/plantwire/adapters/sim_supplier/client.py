"""HTTP calls to the supplier portal; its errors become the hub's at this boundary (simfeed.check)."""

from __future__ import annotations

from typing import Any

import httpx

from plantwire.adapters.sim_supplier.mapping import SYSTEM
from plantwire.adapters.sim_supplier.translate import message_of
from plantwire.adapters.simfeed import call

Json = dict[str, Any]


class SupplierClient:
    """The supplier portal's business API, synchronous (the Sink port is)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def send_purchase_order(self, body: Json) -> Json:
        """Transmit a PO revision (deduped by buyerPoNumber + revision)."""
        answer: Json = call(self.http, SYSTEM, message_of, "POST", "/api/purchase-orders", json=body)
        return answer

    def close(self) -> None:
        """Release connections."""
        self.http.close()
