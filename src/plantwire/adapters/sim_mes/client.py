"""HTTP calls to the MES simulator; its errors become the hub's at this boundary (see simfeed.check)."""

from __future__ import annotations

from typing import Any

import httpx

from plantwire.adapters.sim_mes.mapping import SYSTEM
from plantwire.adapters.sim_mes.translate import message_of
from plantwire.adapters.simfeed import call

Json = dict[str, Any]


class MesClient:
    """The MES simulator's business API, synchronous (the Sink port is)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def download(self, body: Json) -> Json:
        """Send a work order (deduped by erpOrderNumber + revision)."""
        answer: Json = call(self.http, SYSTEM, message_of, "POST", "/api/v1/work-orders", json=body)
        return answer

    def close(self) -> None:
        """Release connections."""
        self.http.close()
