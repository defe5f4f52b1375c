"""The protocols the core needs from the outside world; bootstrap wires concrete ones.

- ``Journal``: the durable, append-only, deduplicating log of envelopes.
- ``StateStore``: transactional key-value state for subscribers' effects and their positions,
  so that a position and the effects it stands for commit together (exactly-once effects).
- ``Subscriber``: something that reacts to journaled events inside a state transaction.
- ``Sink``: carries out a command in an outside system, passing the idempotency key on.
- ``Intake``: where a source adapter hands the events it read; durable when it returns.
- ``Clock``: time, so tests and replays decide the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from plantwire.envelope import AppendOutcome, JournalEntry, Pending


class Clock(Protocol):
    """Wall-clock time in seconds since the epoch."""

    def now(self) -> float: ...


class Journal(Protocol):
    """Append-only log of envelopes with insert-if-absent on (source, id)."""

    def append(self, batch: Sequence[Pending]) -> list[AppendOutcome]:
        """Append each envelope unless its identity exists; durable when this returns."""
        ...

    def read(
        self, after: int, limit: int, types: Collection[str] | None = None
    ) -> tuple[list[JournalEntry], int]:
        """Entries with seq > after in seq order, and the last seq scanned (for cursors)."""
        ...

    def get(self, source: str, event_id: str) -> JournalEntry | None:
        """The entry with this identity, if journaled."""
        ...

    def get_seq(self, seq: int) -> JournalEntry | None:
        """The entry with this sequence number, if any."""
        ...

    def head(self) -> int:
        """The highest sequence number written so far (0 when empty)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class StateTx(Protocol):
    """One state transaction: JSON values by (namespace, key); all of it commits or none."""

    def get(self, ns: str, key: str) -> Any | None: ...

    def put(self, ns: str, key: str, value: Any) -> None: ...

    def delete(self, ns: str, key: str) -> None: ...

    def clear(self, ns: str) -> None:
        """Delete every key of a namespace."""
        ...

    def add(self, ns: str, key: str, delta: Decimal | int) -> Decimal:
        """Add to a numeric value (missing counts as 0) and return the new value."""
        ...

    def scan(
        self, ns: str, prefix: str = "", after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, Any]]:
        """(key, value) pairs in key order whose key starts with prefix and sorts after `after`."""
        ...


class StateStore(Protocol):
    """Opens state transactions."""

    def transaction(self) -> AbstractContextManager[StateTx]:
        """Commit on normal exit, roll back on an exception."""
        ...

    def close(self) -> None: ...


class Subscriber(Protocol):
    """Reacts to journaled events; its effects are written through the given transaction."""

    name: str
    types: frozenset[str]

    def handle(self, entry: JournalEntry, tx: StateTx) -> None:
        """Apply the effects of one event. Raise a PermanentError to refuse it."""
        ...

    def forget(self, entry: JournalEntry, tx: StateTx) -> None:
        """Undo the recorded effects of one event, so a replay can rebuild them."""
        ...



@dataclass(frozen=True)
class Command:
    """An instruction to an outside system, e.g. target "erp", name "post_goods_movement"."""

    target: str
    name: str
    payload: dict[str, Any] = field(default_factory=dict)


class Sink(Protocol):
    """Carries out commands in one outside system.

    The same idempotency key must never take effect twice in the target (pass it as a reference,
    header or document number, or check before writing). Raise RetryableError for outages and
    PermanentError for refusals; return what the target answered (e.g. its document number).
    """

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]: ...


class Intake(Protocol):
    """Where a source adapter hands structured-mode CloudEvent objects it translated.

    Returns only once every event is durably kept (a journal, an edge outbox), so the adapter may
    then acknowledge its source (MQTT PUBACK, a polling watermark, moving a file to done/).
    Raises InvalidEvent-bearing errors per the implementation; never loses what it accepted.
    """

    async def accept(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep the events; one receipt per event (status, and where to ask about it later)."""
        ...
