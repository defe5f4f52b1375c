"""Writes to a machine's OPC UA nodes (e.g. the next order id), the one command OPC UA carries."""

from __future__ import annotations

from typing import Any

from plantwire.adapters._common import run_sync
from plantwire.adapters.opcua.client import OpcUaSession
from plantwire.adapters.opcua.rules import OpcUaMapping, OpcUaSettings
from plantwire.adapters.opcua.translate import write_target
from plantwire.ports import Command


class OpcUaSink:
    """``Command("press-7", "write", {"tag": "Order/Id", "value": "1000042"})``. Writing a value is
    idempotent by nature, so a retry with the same key does no harm."""

    def __init__(self, settings: OpcUaSettings, mapping: OpcUaMapping) -> None:
        self.settings, self.mapping = settings, mapping

    async def send(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """Connect, write one node, disconnect."""
        node_id, value = write_target(self.mapping, command)
        async with OpcUaSession(self.settings) as session:
            await session.write(node_id, value)
        return {"node": node_id}

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """The synchronous Sink port."""
        return run_sync(lambda: self.send(idempotency_key, command), self.settings.timeout * 3)
