"""The WMS sink: staging, put-away, block and unblock, each with the key as Idempotency-Key."""

from __future__ import annotations

from typing import Any, cast

from plantwire.adapters.sim_wms import translate as t
from plantwire.adapters.sim_wms.client import WmsClient
from plantwire.adapters.sim_wms.mapping import SYSTEM, WmsMapping
from plantwire.adapters.simfeed import parse_command
from plantwire.domain.commands import BlockLot, CreatePutaway, RequestStaging, UnblockLot
from plantwire.ports import Command

Json = dict[str, Any]


class WmsSink:
    """Carries out ("wms", name) commands in the WMS simulator."""

    def __init__(self, base_url: str, mapping: WmsMapping | None = None, timeout: float = 10.0) -> None:
        self.client = WmsClient(base_url, timeout)
        self.mapping = mapping or WmsMapping()

    def execute(self, idempotency_key: str, command: Command) -> Json:
        """Run one command; the same key never takes effect twice."""
        cmd = parse_command(SYSTEM, command)
        m, key = self.mapping, idempotency_key
        if isinstance(cmd, RequestStaging):
            return t.request_done(self.client.post("/api/staging-requests", t.staging(cmd, m), key))
        if isinstance(cmd, CreatePutaway):
            return t.request_done(self.client.post("/api/putaway-requests", t.putaway(cmd, m), key))
        path = "/api/inventory/blocks" if command.name == "block_lot" else "/api/inventory/unblocks"
        return t.hold_done(self.client.post(path, t.hold(cast(BlockLot | UnblockLot, cmd), m), key))

    def close(self) -> None:
        """Release connections."""
        self.client.close()
