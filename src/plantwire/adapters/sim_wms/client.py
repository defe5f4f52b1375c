"""HTTP calls to the WMS simulator; its errors become the hub's at this boundary (see simfeed.check)."""

from __future__ import annotations

from typing import Any

import httpx

from plantwire.adapters.sim_wms.mapping import SYSTEM
from plantwire.adapters.sim_wms.translate import message_of
from plantwire.adapters.simfeed import call

Json = dict[str, Any]


class WmsClient:
    """The WMS simulator's business API, synchronous (the Sink port is)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def post(self, path: str, body: Json, idempotency_key: str) -> Json:
        """A command; the WMS answers a repeated Idempotency-Key with the first answer."""
        answer: Json = call(self.http, SYSTEM, message_of, "POST", path, json=body,
                            headers={"Idempotency-Key": idempotency_key})
        return answer

    def close(self) -> None:
        """Release connections."""
        self.http.close()
