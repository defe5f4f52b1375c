"""The JetStream side of the bus: one connection on a loop thread of its own, streams, consumers.

Names (``prefix`` comes from the bus URL, default ``pw``; one prefix per hub or test run):

- stream ``PW_<PREFIX>`` holding subjects ``<prefix>.>``;
- subject ``<prefix>.<plant>.<domain>.<type>.<partition>`` for each journal entry, e.g.
  ``pw.1000.production.order_released.3`` (the rest of the type with ``.`` written as ``_``, so
  every subject has five tokens and a partition can be filtered as ``<prefix>.*.*.*.<k>``);
- durable pull consumer ``<prefix>_p<k>`` per partition, shared by every subscriber (each keeps
  its own position in PostgreSQL): a message is fetched, decoded and acknowledged once.

A message is the entry's canonical CloudEvent JSON with headers ``Nats-Msg-Id`` (``source/id``: the
event identity, so JetStream drops a resend within its duplicate window), ``Pw-Seq`` (journal seq),
``Pw-Prev`` (the journal seq of the previous entry of the same partition, 0 for none), ``Pw-At``
(recorded_at). JetStream's window is only an optimisation: consumers apply an entry only if its
seq is past their position, so a resend after the window changes nothing.

The retry policy maps to each consumer: ``MaxDeliver`` = max_attempts and ``BackOff`` = the
policy's delays (at least ``MIN_ACK_WAIT``), from the subscribers' most patient policy; they
govern messages no worker answered (a worker killed or hung mid-batch). Handler failures are
recorded in the state store by the consumer instead, where the key can be held (see ``consumer``).

nats-py is asyncio; the delivery loops are threads. ``JetStreamBus`` runs the client on a loop in
a daemon thread and offers blocking calls; NATS errors become ``BusUnavailable`` (retryable).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import zlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from plantwire.envelope import JournalEntry
from plantwire.errors import ConfigurationError, PermanentError, StorageUnavailable
from plantwire.service.retry import RetryPolicy, backoff_delay

T = TypeVar("T")
MIN_ACK_WAIT = 5.0
DUPLICATE_WINDOW = 120.0
PEEK = 0.01
"""Seconds a first pull waits on a consumer with nothing to deliver (one with messages answers at once)."""
_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


class BusUnavailable(StorageUnavailable):
    """NATS could not be reached or did not answer in time: retry later."""


class DeliveryExhausted(PermanentError):
    """JetStream delivered a message MaxDeliver times and no worker ever acknowledged it."""


def partition_of(routing_key: str, partitions: int) -> int:
    """The partition of a plant or business key (stable: crc32, not Python's salted hash)."""
    return zlib.crc32(routing_key.encode()) % partitions


def plant_of(entry: JournalEntry) -> str:
    """The plant an event belongs to (its ``plant`` extension), or ``_`` for enterprise-wide ones."""
    plant = entry.envelope.extensions.get("plant")
    return str(plant) if plant else "_"


def is_nats_url(bus: str) -> bool:
    """Whether a bus setting names a NATS server."""
    return bus.startswith(("nats://", "tls://"))


def token(text: str) -> str:
    """A string made safe as one subject token or part of a stream/consumer name."""
    return _TOKEN.sub("_", text) or "_"


@dataclass(frozen=True)
class BusUrl:
    """``nats://host:4222[?prefix=pw&partitions=8&order_check=1]``: where, and how we name things."""

    servers: str
    prefix: str = "pw"
    partitions: int = 8
    order_check: bool = False
    partition_by: str = "plant"
    """"plant": a plant's events stay in journal order across keys (its projections may rely on a
    receipt before a consumption of another key); "key": only per business key (more spread)."""

    @classmethod
    def parse(cls, url: str) -> BusUrl:
        """Split our parameters off the URL; the rest goes to nats-py."""
        if not is_nats_url(url):
            raise ConfigurationError(f"bus {url!r}: use 'local' or a nats:// URL")
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        ours = {k: query.pop(k) for k in ("prefix", "partitions", "order_check", "partition_by")
                if k in query}
        servers = urlunsplit(parts._replace(query=urlencode(query)))
        prefix = ours.get("prefix", "pw")
        if token(prefix) != prefix or "-" in prefix:
            raise ConfigurationError(f"bus prefix {prefix!r} must match [A-Za-z0-9_]+")
        partitions = int(ours.get("partitions", "8"))
        if not 1 <= partitions <= 1024:
            raise ConfigurationError("bus partitions must be between 1 and 1024")
        by = ours.get("partition_by", "plant")
        if by not in ("plant", "key"):
            raise ConfigurationError("bus partition_by must be 'plant' or 'key'")
        return cls(servers, prefix, partitions, ours.get("order_check", "0") in ("1", "true"), by)

    def partition(self, entry: JournalEntry) -> int:
        """The partition an entry travels in: by plant (default) or by business key."""
        return self.partition_for(plant_of(entry), entry.key)

    def partition_for(self, plant: str, key: str) -> int:
        """The partition of an entry of this plant (``_`` for none) and business key."""
        return partition_of(plant if self.partition_by == "plant" else key, self.partitions)

    @property
    def stream(self) -> str:
        """The stream that carries this hub's events."""
        return f"PW_{self.prefix.upper()}"

    def subject(self, plant: str, event_type: str, partition: int) -> str:
        """``<prefix>.<plant>.<domain>.<type>.<partition>``."""
        domain, _, rest = event_type.partition(".")
        return f"{self.prefix}.{token(plant)}.{token(domain)}.{token(rest.replace('.', '_'))}.{partition}"

    def partition_filter(self, partition: int) -> str:
        """The subjects of one partition, all plants and domains."""
        return f"{self.prefix}.*.*.*.{partition}"

    def durable(self, partition: int) -> str:
        """The durable consumer of one partition (every subscriber's)."""
        return f"{self.prefix}_p{partition}"


def consumer_config(policy: RetryPolicy, durable: str, filter_subject: str) -> ConsumerConfig:
    """A durable pull consumer whose MaxDeliver and BackOff follow the retry policy."""
    backoff = [max(MIN_ACK_WAIT, backoff_delay(policy, n, 0.0)) for n in range(1, policy.max_attempts)]
    return ConsumerConfig(
        durable_name=durable, filter_subject=filter_subject, ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL, max_deliver=policy.max_attempts,
        ack_wait=backoff[0] if backoff else MIN_ACK_WAIT, backoff=backoff or None,
        max_ack_pending=20_000)


class Outgoing(NamedTuple):
    """One message to publish (a tuple: the relay makes thousands a second)."""

    subject: str
    payload: bytes
    headers: dict[str, str]


class JetStreamBus:
    """A NATS connection on its own event loop thread, with blocking calls for the delivery loops."""

    def __init__(self, url: BusUrl, timeout: float = 5.0) -> None:
        self.url, self._timeout = url, timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats", daemon=True)
        self._thread.start()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subs: dict[str, JetStreamContext.PullSubscription] = {}
        self._stream_ready = False
        self._publishing = asyncio.Lock()  # batches reach the stream whole, in the order started

    def _start(self, coro: Coroutine[Any, Any, T], timeout: float) -> Callable[[], T]:
        """Run `coro` on the loop from now on; the call returned waits for its result (NATS errors
        and time-outs become BusUnavailable)."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)

        def result() -> T:
            try:
                return future.result(timeout + 5.0)
            except (nats.errors.Error, TimeoutError, OSError) as exc:
                future.cancel()
                raise BusUnavailable(f"nats: {type(exc).__name__}: {exc}") from exc
        return result

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self._start(coro, timeout or self._timeout)()

    async def _connect(self) -> JetStreamContext:
        if self._js is not None and self._nc is not None and not self._nc.is_closed:
            return self._js
        self._nc = await nats.connect(
            self.url.servers, max_reconnect_attempts=-1, reconnect_time_wait=0.25,
            connect_timeout=2, allow_reconnect=True, name="plantwire")
        self._js = self._nc.jetstream(timeout=self._timeout, publish_async_max_pending=20_000)
        self._subs.clear()
        self._stream_ready = False
        return self._js

    async def _stream(self) -> JetStreamContext:
        js = await self._connect()
        if not self._stream_ready:
            config = StreamConfig(name=self.url.stream, subjects=[f"{self.url.prefix}.>"],
                                  storage=StorageType.FILE, duplicate_window=DUPLICATE_WINDOW)
            try:
                await js.add_stream(config)
            except nats.js.errors.BadRequestError:
                await js.update_stream(config)
            self._stream_ready = True
        return js

    def ensure_stream(self) -> None:
        """Create the stream if missing (idempotent)."""
        self._run(self._stream())

    # -- publishing ------------------------------------------------------------------------

    def publish(self, messages: Sequence[Outgoing]) -> int:
        """Publish all, wait for every PubAck; returns how many JetStream took as duplicates."""
        return self._run(self._publish(messages), self._timeout * 2)

    def publish_start(self, messages: Sequence[Outgoing]) -> Callable[[], int]:
        """Start publishing; the returned call waits for every PubAck (as `publish` does). Messages
        of one connection reach the stream in the order they were started."""
        return self._start(self._publish(messages), self._timeout * 2)

    async def _publish(self, messages: Sequence[Outgoing]) -> int:
        async with self._publishing:  # a batch started later waits, even when this one yields
            js = await self._stream()
            futures = [await js.publish_async(m.subject, m.payload, headers=m.headers) for m in messages]
        acks = await asyncio.wait_for(asyncio.gather(*futures), self._timeout)
        return sum(1 for a in acks if a.duplicate)

    # -- consuming -------------------------------------------------------------------------

    def fetch(self, wanted: Sequence[tuple[int, RetryPolicy]], batch: int,
              wait: float) -> dict[int, list[Msg]]:
        """Up to `batch` messages from each partition's consumer, fetched concurrently."""
        return self._run(self._fetch_all(wanted, batch, wait), wait + self._timeout)

    async def _fetch_all(self, wanted: Sequence[tuple[int, RetryPolicy]], batch: int,
                         wait: float) -> dict[int, list[Msg]]:
        """First a glance at every consumer (a consumer with messages answers at once, an empty one
        after PEEK); only when all are empty, one pull that waits up to `wait` for news. A single
        long pull would hold every busy partition back until the empty ones time out."""
        await self._stream()
        got = await asyncio.gather(*(self._fetch(k, p, batch, min(PEEK, wait)) for k, p in wanted))
        if wait > PEEK and not any(got):
            got = await asyncio.gather(*(self._fetch(k, p, batch, wait) for k, p in wanted))
        return {k: msgs for (k, _), msgs in zip(wanted, got, strict=True)}

    async def _fetch(self, k: int, policy: RetryPolicy, batch: int, wait: float) -> list[Msg]:
        durable = self.url.durable(k)
        psub = self._subs.get(durable)
        if psub is None:
            js = await self._stream()
            config = consumer_config(policy, durable, self.url.partition_filter(k))
            # exists with an older policy: the existing consumer keeps working as configured
            with contextlib.suppress(nats.js.errors.BadRequestError):
                await js.add_consumer(self.url.stream, config)
            psub = await js.pull_subscribe_bind(durable, self.url.stream)
            self._subs[durable] = psub
        try:  # bounded here too: a fetch whose expiry status never arrives must not stall the loop
            return await asyncio.wait_for(psub.fetch(batch, timeout=wait), wait + 1.0)
        except (nats.errors.TimeoutError, TimeoutError):
            return []

    def undelivered(self, partition: int) -> int:
        """Messages JetStream still has to deliver to this partition's consumer for the first time."""
        async def info() -> int:
            js = await self._stream()
            got = await js.consumer_info(self.url.stream, self.url.durable(partition))
            return int(got.num_pending or 0)
        return self._run(info())

    def ack(self, messages: Sequence[Msg]) -> None:
        """Acknowledge (fire and forget: a lost ack only means a redelivery the position skips)."""
        if messages:
            self._run(self._ack(messages))

    async def _ack(self, messages: Sequence[Msg]) -> None:
        for m in messages:
            await m.ack()

    def delete_stream(self) -> None:
        """Remove the stream and its consumers (tests and benchmarks)."""
        async def drop() -> None:
            js = await self._connect()
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(self.url.stream)
        self._run(drop())

    def close(self) -> None:
        """Drain the connection and stop the loop thread."""
        async def shut() -> None:
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:  # the client's readers and pull subscriptions: end them here
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)
        with contextlib.suppress(BusUnavailable):  # a connection already gone has nothing to release
            self._run(shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


__all__ = ["BusUnavailable", "BusUrl", "DeliveryExhausted", "JetStreamBus", "Outgoing",
           "consumer_config", "is_nats_url", "partition_of", "plant_of", "token"]
