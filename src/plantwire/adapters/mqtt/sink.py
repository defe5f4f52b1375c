"""Publishes canonical commands as JSON messages (QoS 1), the idempotency key in the body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plantwire.adapters._common import run_sync
from plantwire.adapters.mqtt.client import BrokerSettings, publish_once
from plantwire.adapters.mqtt.rules import CommandRoute
from plantwire.adapters.mqtt.translate import command_message
from plantwire.errors import ConfigurationError
from plantwire.ports import Command


class MqttSink:
    """Sink for a plant system listening on MQTT, e.g. ``{"release_order":
    CommandRoute("plant/{plant}/orders/{order_id}/release")}``. Receivers dedup on the key."""

    def __init__(self, settings: BrokerSettings, routes: Mapping[str, CommandRoute]) -> None:
        self.settings, self.routes = settings, dict(routes)

    async def send(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """Publish one command; returns once the broker acknowledged it."""
        route = self.routes.get(command.name)
        if route is None:
            raise ConfigurationError(f"no MQTT topic is declared for command {command.name!r}")
        topic, body = command_message(route.topic, idempotency_key, command)
        await publish_once(self.settings, topic, body, qos=route.qos)
        return {"topic": topic}

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """The synchronous Sink port."""
        return run_sync(lambda: self.send(idempotency_key, command), self.settings.timeout * 2)
