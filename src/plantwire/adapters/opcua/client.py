"""The OPC UA wire (asyncua): a session that streams data changes of mapped nodes, and writes.

asyncua and socket errors become ``TargetUnavailable`` here; the source reconnects on its own
(asyncua's auto_reconnect is off so there is one reconnect policy, the source's).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.common.subscription import DataChangeNotif
from asyncua.ua.uaerrors import UaError

from plantwire.adapters.opcua.rules import OpcUaSettings
from plantwire.adapters.opcua.translate import Reading
from plantwire.errors import TargetUnavailable

FAILURES = (OSError, asyncio.TimeoutError, ConnectionError, UaError)


class _Handler:
    """Puts each data change on a queue as a Reading."""

    def __init__(self, names: Mapping[str, str], queue: asyncio.Queue[Reading]) -> None:
        self.names, self.queue = names, queue

    def datachange_notification(self, node: Node, val: Any, data: DataChangeNotif) -> None:
        value = data.monitored_item.Value
        status = value.StatusCode.name if value.StatusCode is not None else "Good"
        self.queue.put_nowait(Reading(self.names[node.nodeid.to_string()], val, status,
                                      value.SourceTimestamp, value.ServerTimestamp))


class OpcUaSession:
    """One connection; use as ``async with``."""

    def __init__(self, settings: OpcUaSettings) -> None:
        self.settings = settings
        self.client = Client(settings.endpoint, timeout=settings.timeout)
        self.readings: asyncio.Queue[Reading] = asyncio.Queue()

    async def __aenter__(self) -> OpcUaSession:
        try:
            await self.client.connect()
        except FAILURES as error:
            raise TargetUnavailable(f"OPC UA server {self.settings.endpoint}: {error!r}") from error
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        with contextlib.suppress(*FAILURES):  # a lost connection has nothing left to close
            await self.client.disconnect()

    async def subscribe(self, nodes: Mapping[str, str]) -> None:
        """Report changes of these nodes (tag name → node id), starting with their current values."""
        names = {ua.NodeId.from_string(node_id).to_string(): tag for tag, node_id in nodes.items()}
        try:
            subscription = await self.client.create_subscription(
                self.settings.publishing_interval_ms, _Handler(names, self.readings))
            await subscription.subscribe_data_change([self.client.get_node(n) for n in nodes.values()])
        except FAILURES as error:
            raise TargetUnavailable(f"OPC UA subscribe at {self.settings.endpoint}: {error!r}") from error

    async def batch(self, limit: int) -> list[Reading]:
        """The next readings (waiting for at least one), checking the connection while idle."""
        while True:
            try:
                first = await asyncio.wait_for(self.readings.get(), self.settings.idle_check_s)
                break
            except TimeoutError:
                await self.check()
        batch = [first]
        while not self.readings.empty() and len(batch) < limit:
            batch.append(self.readings.get_nowait())
        return batch

    async def check(self) -> None:
        """Raise TargetUnavailable when the connection is gone."""
        try:
            await self.client.check_connection()
        except FAILURES as error:
            raise TargetUnavailable(f"OPC UA connection to {self.settings.endpoint} lost: {error!r}"
                                    ) from error

    async def write(self, node_id: str, value: Any) -> None:
        """Write a value in the node's own data type."""
        node = self.client.get_node(node_id)
        try:
            variant_type = await node.read_data_type_as_variant_type()
            await node.write_value(ua.DataValue(ua.Variant(value, variant_type)))
        except FAILURES as error:
            raise TargetUnavailable(f"OPC UA write {node_id} at {self.settings.endpoint}: {error!r}"
                                    ) from error
