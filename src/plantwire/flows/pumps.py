"""The two loops that drive flows besides journal events: the command relay and the timer pump.

The relay sends each instance's outbox commands in order (one at a time per instance), outside
any transaction, then records the result and feeds it to the flow in one transaction. A crash
between the call and that commit sends the command again with the same idempotency key, which
the sink passes on so the target does not act twice.

With several workers on one state store (the distributed deployment), each loop runs only where
`lead()` is true, and the relay asks again before each command: the distributed wiring hands it
"this worker holds the bus leader's lease (partition 0), as the lease row says now", so one worker
sends each command and fires each timer. Without that, every worker would send every command
(the target's key dedup would be the only thing keeping it from acting twice) and the workers'
record transactions would clash and back off; with a leader that only remembers its lease, a
leader cut off from PostgreSQL for longer than the lease would go on sending beside its successor.
The record transaction of a sent command is tried again at once on a clash (a delivery
transaction touching the same instance), since giving up there means sending the command again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from plantwire.errors import ConfigurationError, StorageUnavailable
from plantwire.flows.api import CommandDone, CommandFailed, TimerFired
from plantwire.flows.runtime import COUNTERS, OUTBOX, TIMER_INDEX, TIMERS, FlowEngine
from plantwire.ports import Clock, Command, Sink, StateStore, StateTx
from plantwire.service.delivery import MAX_ERROR_TEXT, error_class
from plantwire.service.retry import RetryPolicy, backoff_delay

RETRIES = "command-retries"
"""Counter key prefix (namespace "counters"): retries scheduled per target system."""
RECORD_TRIES = 5
"""How often a result's record transaction is tried on a clash before the command is sent again."""


def always() -> bool:
    """The default `lead`: one process runs the loops."""
    return True


def record(state: StateStore, write: Callable[[StateTx], None]) -> None:
    """Run `write` in a transaction, tried again at once on a clash; still unavailable: raise."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            with state.transaction() as tx:
                write(tx)
            return
        except StorageUnavailable:
            if attempt == RECORD_TRIES:
                raise


class CommandRelay:
    """Carries out outbox commands through the sinks, with retries and backoff."""

    def __init__(self, state: StateStore, engine: FlowEngine, sinks: Mapping[str, Sink], clock: Clock,
                 policy: RetryPolicy | None = None, rand: Callable[[], float] = random.random,
                 lead: Callable[[], bool] = always) -> None:
        self.state, self.engine, self.sinks, self.clock = state, engine, dict(sinks), clock
        self.policy = policy or RetryPolicy()
        self._rand = rand
        self.lead = lead

    def step(self) -> int:
        """Send every command that is due and first in line for its instance."""
        if not self.engine.latest or not self.lead():
            return 0
        now = self.clock.now()
        with self.state.transaction() as tx:
            rows = tx.scan(OUTBOX, limit=1000)
        first: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        for okey, row in rows:
            first.setdefault((row["flow"], row["key"]), (okey, row))
        due = [(k, r) for k, r in first.values() if r["next_at"] <= now]
        sent = 0
        for okey, row in due:
            if sent and not self.lead():  # asked again before each call: a round can take long
                break
            self._send(okey, row)
            sent += 1
        return sent

    def _send(self, okey: str, row: dict[str, Any]) -> None:
        command = Command(**row["command"])
        try:
            sink = self.sinks.get(command.target)
            if sink is None:
                raise ConfigurationError(f"no sink for target {command.target!r}")
            result = sink.execute(row["id"], command)
        except StorageUnavailable:
            raise
        except Exception as error:  # recorded: retried with backoff, or fed to the flow as failed
            self._failed(okey, row, command, error)
            return
        now = self.clock.now()

        def done(tx: StateTx) -> None:
            if tx.get(OUTBOX, okey) is None:
                return
            tx.delete(OUTBOX, okey)
            self.engine.apply(tx, row["flow"], row["key"], CommandDone(row["step"], command, result), now)
        record(self.state, done)

    def _failed(self, okey: str, row: dict[str, Any], command: Command, error: BaseException) -> None:
        now = self.clock.now()
        attempts = int(row["attempts"]) + 1
        give_up = isinstance(error, ConfigurationError) or self.policy.gives_up(error, attempts)

        def write(tx: StateTx) -> None:
            current = tx.get(OUTBOX, okey)
            if current is None:
                return
            if give_up:
                tx.delete(OUTBOX, okey)
                failed = CommandFailed(row["step"], command, error_class(error),
                                       str(error)[:MAX_ERROR_TEXT])
                self.engine.apply(tx, row["flow"], row["key"], failed, now)
                return
            tx.add(COUNTERS, f"{RETRIES}|{command.target}", 1)  # for operators: how often targets failed
            current.update(attempts=attempts, last_error=str(error)[:MAX_ERROR_TEXT],
                           last_error_class=error_class(error),
                           next_at=now + backoff_delay(self.policy, attempts, self._rand()))
            tx.put(OUTBOX, okey, current)
        record(self.state, write)


class TimerPump:
    """Fires due timers into their flow instances."""

    def __init__(self, state: StateStore, engine: FlowEngine, clock: Clock,
                 lead: Callable[[], bool] = always) -> None:
        self.state, self.engine, self.clock = state, engine, clock
        self.lead = lead

    def step(self) -> int:
        """Fire every timer whose time has come."""
        if not self.engine.latest or not self.lead():
            return 0
        now = self.clock.now()
        with self.state.transaction() as tx:
            due = [(k, v) for k, v in tx.scan(TIMERS, limit=500) if v["at"] <= now]
        for tkey, timer in due:
            with self.state.transaction() as tx:
                if tx.get(TIMERS, tkey) is None:
                    continue
                tx.delete(TIMERS, tkey)
                tx.delete(TIMER_INDEX, f"{timer['flow']}|{timer['key']}|{timer['name']}")
                self.engine.apply(tx, timer["flow"], timer["key"], TimerFired(timer["name"]), timer["at"])
        return len(due)
