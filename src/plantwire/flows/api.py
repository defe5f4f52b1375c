"""What flow authors write against; flow code never imports the runtime.

A flow reacts to inputs (journal events, results of its commands, its timers) for one instance,
named by a business key (an order, a PO). Everything it does goes through the context, which the
runtime records in the same state transaction as the input that caused it: commands to outside
systems (each with an optional compensation declared next to it), timers, business exceptions, and
its own state. Time comes only from the context, so the same inputs always make the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from plantwire.ports import Command

__all__ = ["Command", "CommandDone", "CommandFailed", "Context", "EventInput", "Flow", "FlowInput",
           "TimerFired"]


@dataclass(frozen=True)
class EventInput:
    """A journaled business event."""

    type: str
    data: dict[str, Any]
    source: str
    id: str
    seq: int
    at: float


@dataclass(frozen=True)
class CommandDone:
    """A command of this instance was carried out; `result` is what the target answered."""

    step: str
    command: Command
    result: dict[str, Any]


@dataclass(frozen=True)
class CommandFailed:
    """A command of this instance failed for good (permanent error or retries exhausted)."""

    step: str
    command: Command
    error_class: str
    message: str


@dataclass(frozen=True)
class TimerFired:
    """A timer this instance set has come due."""

    name: str


FlowInput = EventInput | CommandDone | CommandFailed | TimerFired


class Context(Protocol):
    """The runtime as seen from flow code."""

    @property
    def key(self) -> str:
        """The business key of this instance."""
        ...

    @property
    def now(self) -> float:
        """The time of the input being handled (deterministic on replay)."""
        ...

    @property
    def state(self) -> dict[str, Any]:
        """The instance's own durable state (JSON values); change it in place."""
        ...

    def lookup(self, ns: str, key: str) -> Any | None:
        """Read a value of a read model (e.g. the ATP projection) as it stands now; read-only."""
        ...

    def scan(self, ns: str, prefix: str = "") -> list[tuple[str, Any]]:
        """Read the (key, value) pairs of a read model whose keys start with prefix; read-only."""
        ...

    def send(self, step: str, command: Command, compensation: Command | None = None) -> str:
        """Issue a command once per step name; returns its idempotency key. The compensation is
        remembered when the command succeeds and issued by `compensate`."""
        ...

    def compensate(self) -> None:
        """Issue the compensations of every succeeded step, newest first."""
        ...

    def start_timer(self, name: str, at: float) -> None:
        """Fire TimerFired(name) at epoch time `at` (also after a restart); replaces one of that name."""
        ...

    def cancel_timer(self, name: str) -> None:
        """Forget a timer if it has not fired."""
        ...

    def raise_exception(self, kind: str, message: str, action: str, **details: Any) -> None:
        """Record a business exception for a person: what happened and what to do."""
        ...

    def finish(self, outcome: str) -> None:
        """The instance is done; later inputs for its key are ignored (and counted)."""
        ...


class Flow(Protocol):
    """A business flow, one version of it."""

    name: str
    version: int
    types: frozenset[str]

    def key_of(self, event: EventInput) -> str | None:
        """The instance an event belongs to, or None when the flow ignores it."""
        ...

    def starts(self, event: EventInput) -> bool:
        """Whether this event may start a new instance."""
        ...

    def react(self, ctx: Context, inp: FlowInput) -> None:
        """Decide what to do about one input."""
        ...
