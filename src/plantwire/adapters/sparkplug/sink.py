"""Commands to Sparkplug B edge nodes: rebirth requests and metric writes (NCMD/DCMD, QoS 0)."""

from __future__ import annotations

import time
from typing import Any

from plantwire.adapters._common import run_sync
from plantwire.adapters.sparkplug.client import BrokerSettings, MqttSession, publish_once
from plantwire.adapters.sparkplug.translate import RebirthRequest, command_message
from plantwire.ports import Command


class SparkplugSink:
    """Publishes NCMD/DCMD messages. Sparkplug commands carry no key; a rebirth or a write of the
    same values is harmless to repeat, which is what makes retries safe here."""

    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self.sent = 0

    async def send(self, idempotency_key: str, command: Command,
                   session: MqttSession | None = None) -> dict[str, Any]:
        """Publish one command, on `session` when given (the source's own connection)."""
        topic, body = command_message(command.name, command.payload, int(time.time() * 1000))
        if session is None:
            await publish_once(self.settings, topic, body, qos=0)
        else:
            await session.publish(topic, body, qos=0)
        self.sent += 1
        return {"topic": topic}

    async def rebirth(self, request: RebirthRequest, session: MqttSession | None = None) -> None:
        """Ask an edge node for its births again."""
        command = Command("sparkplug", "rebirth", {"group": request.group, "edge_node": request.edge_node})
        await self.send(f"rebirth/{request.group}/{request.edge_node}", command, session)

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """The synchronous Sink port."""
        return run_sync(lambda: self.send(idempotency_key, command), self.settings.timeout * 2)
