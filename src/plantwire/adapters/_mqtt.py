"""The MQTT transport the MQTT JSON and Sparkplug B adapters share (aiomqtt on paho-mqtt).

Acknowledgement after durability: aiomqtt 2.5 has no public switch for it (aiomqtt#345; paho-mqtt
2.x has ``manual_ack``), so ``MqttSession`` turns paho's manual acknowledgement on before connecting
and sends each PUBACK itself once the caller says the message is kept. The session is persistent
(fixed client id, ``clean_session=False``): messages the broker holds for us while we are away, and
those we received but never acknowledged, come again after a reconnect. Broker errors become
``TargetUnavailable`` here, so the loops above decide from the class.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

import aiomqtt

from plantwire.adapters._common import backoff
from plantwire.errors import TargetUnavailable

log = logging.getLogger("plantwire.adapters.mqtt")


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker is and who we are to it; the client id names the persistent session."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "plantwire-edge"
    username: str | None = None
    password: str | None = None
    keepalive: int = 30
    timeout: float = 10.0
    persistent: bool = True


@dataclass(frozen=True)
class Received:
    """One message as it came off the wire; `mid` and `qos` are what its acknowledgement needs."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    retain: bool = False


class MqttSession:
    """One broker connection with manual acknowledgement; use as ``async with``."""

    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self._client = aiomqtt.Client(
            settings.host, settings.port, identifier=settings.client_id,
            username=settings.username, password=settings.password, keepalive=settings.keepalive,
            timeout=settings.timeout, clean_session=not settings.persistent)
        # Before connecting: a persistent session's queued messages arrive right after CONNACK.
        self._client._client.manual_ack_set(True)  # noqa: SLF001  (aiomqtt#345)

    async def __aenter__(self) -> MqttSession:
        try:
            await self._client.__aenter__()
        except aiomqtt.MqttError as error:
            raise TargetUnavailable(f"MQTT broker {self._where()}: {error}") from error
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self._client.__aexit__(kind, error, tb)
        except aiomqtt.MqttError as failure:
            log.info("MQTT disconnect from %s: %s", self._where(), failure)

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def subscribe(self, filters: Sequence[str], qos: int = 1) -> None:
        """Subscribe to each topic filter."""
        try:
            for topic_filter in filters:
                await self._client.subscribe(topic_filter, qos=qos)
        except aiomqtt.MqttError as error:
            raise TargetUnavailable(f"MQTT subscribe at {self._where()}: {error}") from error

    async def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish; with QoS 1 this returns once the broker has acknowledged."""
        try:
            await self._client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as error:
            raise TargetUnavailable(f"MQTT publish to {topic} at {self._where()}: {error}") from error

    async def batch(self, limit: int) -> list[Received]:
        """Wait for the next message, then take those already waiting, up to `limit`."""
        messages = self._client.messages
        try:
            batch = [await anext(aiter(messages))]
            while len(messages) and len(batch) < limit:
                batch.append(await anext(aiter(messages)))
        except aiomqtt.MqttError as error:
            raise TargetUnavailable(f"MQTT connection to {self._where()} lost: {error}") from error
        return [Received(str(m.topic), bytes(m.payload) if isinstance(m.payload, bytes | bytearray)
                         else str(m.payload).encode(), m.qos, m.mid, m.retain) for m in batch]

    def ack(self, message: Received) -> None:
        """Send the PUBACK for a message (QoS 0 needs none)."""
        if message.qos > 0:
            self._client._client.ack(message.mid, message.qos)  # noqa: SLF001  (aiomqtt#345)


BatchHandler = Callable[[MqttSession, list[Received]], Awaitable[None]]


async def consume(settings: BrokerSettings, filters: Sequence[str], handle: BatchHandler,
                  subscribed: asyncio.Event, batch_size: int = 50) -> None:
    """Subscribe and hand batches to `handle`, acknowledging each batch after it returns.

    Reconnects with backoff for ever (cancel the task to stop). `subscribed` is set while connected.
    """
    attempt = 0
    while True:
        try:
            async with MqttSession(settings) as session:
                await session.subscribe(filters, qos=1)
                attempt = 0
                subscribed.set()
                log.info("subscribed to %s at %s:%s", list(filters), settings.host, settings.port)
                while True:
                    batch = await session.batch(batch_size)
                    await handle(session, batch)
                    for message in batch:  # in order received, as MQTT asks of PUBACKs
                        session.ack(message)
        except TargetUnavailable as error:
            subscribed.clear()
            attempt += 1
            delay = backoff(attempt)
            log.warning("MQTT %s; reconnecting in %.1fs (try %d)", error, delay, attempt)
            await asyncio.sleep(delay)


async def publish_once(settings: BrokerSettings, topic: str, payload: bytes, qos: int = 1) -> None:
    """Connect with a clean session, publish one message and disconnect (for sinks)."""
    once = BrokerSettings(settings.host, settings.port, f"{settings.client_id}-out", settings.username,
                          settings.password, settings.keepalive, settings.timeout, persistent=False)
    async with MqttSession(once) as session:
        await session.publish(topic, payload, qos=qos)
