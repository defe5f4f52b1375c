"""The flow runtime: a small process manager on our own journal and state store.

Why not DBOS: DBOS keeps workflow state in its own tables and runs steps as it sees fit; it cannot
commit a flow's decisions in the same transaction as our subscriber position (journal delivery)
nor order inputs per business key the way our delivery already does. Here every input of an
instance (a journal event, a command result, a timer) is applied in one state transaction that
also records the instance state, the commands to send (outbox), timers and business exceptions, so
a crash repeats nothing that committed and loses nothing that did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from plantwire.envelope import JournalEntry
from plantwire.flows.api import (
    Command,
    CommandDone,
    CommandFailed,
    EventInput,
    Flow,
    FlowInput,
)
from plantwire.flows.exceptions import close_retried, record_exception
from plantwire.ports import StateTx

OUTBOX = "outbox"
TIMERS = "timers"
TIMER_INDEX = "timer-index"
COUNTERS = "counters"


def instances(flow: str) -> str:
    """Namespace of a flow's instances."""
    return f"flow:{flow}"


def timer_key(at: float, flow: str, key: str, name: str) -> str:
    """Timers sort by due time."""
    return f"{at:017.3f}|{flow}|{key}|{name}"


class _Recorder:
    """The Context given to flow code: records decisions, written out by `flush`."""

    def __init__(self, flow: str, key: str, instance: dict[str, Any], now: float, tx: StateTx) -> None:
        self._flow, self._key, self.instance, self._now, self._tx = flow, key, instance, now, tx
        self.sent: list[tuple[str, str, Command]] = []
        self.timers: dict[str, float | None] = {}
        self.raised: list[tuple[str, str, str, dict[str, Any]]] = []

    @property
    def key(self) -> str:
        return self._key

    @property
    def now(self) -> float:
        return self._now

    @property
    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.instance["state"]
        return state

    def lookup(self, ns: str, key: str) -> Any | None:
        return self._tx.get(ns, key)

    def scan(self, ns: str, prefix: str = "") -> list[tuple[str, Any]]:
        return self._tx.scan(ns, prefix)

    def send(self, step: str, command: Command, compensation: Command | None = None) -> str:
        steps = self.instance["steps"]
        command_id = f"{self._flow}/{self._key}/{step}"
        if step in steps:
            return command_id
        steps[step] = {"status": "sent", "id": command_id, "command": asdict(command),
                       "compensation": asdict(compensation) if compensation else None}
        self.sent.append((step, command_id, command))
        return command_id

    def compensate(self) -> None:
        done = [(s, v) for s, v in self.instance["steps"].items()
                if v["status"] == "done" and v["compensation"]]
        for step, v in reversed(done):
            self.send(f"{step}~undo", Command(**v["compensation"]))

    def start_timer(self, name: str, at: float) -> None:
        self.timers[name] = at

    def cancel_timer(self, name: str) -> None:
        self.timers[name] = None

    def raise_exception(self, kind: str, message: str, action: str, **details: Any) -> None:
        self.raised.append((kind, message, action, details))

    def finish(self, outcome: str) -> None:
        self.instance["status"] = "finished"
        self.instance["outcome"] = outcome


class FlowEngine:
    """Applies inputs to flow instances, each version of each flow by name."""

    def __init__(self, flows: Iterable[Flow]) -> None:
        self._versions: dict[tuple[str, int], Flow] = {}
        self.latest: dict[str, Flow] = {}
        for flow in flows:
            self._versions[(flow.name, flow.version)] = flow
            if flow.name not in self.latest or flow.version > self.latest[flow.name].version:
                self.latest[flow.name] = flow

    def apply(self, tx: StateTx, flow: str, key: str, inp: FlowInput, now: float) -> bool:
        """Run one input through its instance; False when no instance takes it."""
        instance = tx.get(instances(flow), key)
        if instance is None:
            latest = self.latest[flow]
            if not (isinstance(inp, EventInput) and latest.starts(inp)):
                return False
            instance = {"version": latest.version, "status": "running", "outcome": None,
                        "state": {}, "steps": {}, "started_at": now, "ignored": 0, "inputs": 0}
        if instance["status"] == "finished":
            instance["ignored"] += 1
            tx.put(instances(flow), key, instance)
            return False
        self._mark_step(instance, inp)
        ctx = _Recorder(flow, key, instance, now, tx)
        self._versions[(flow, instance["version"])].react(ctx, inp)
        instance["inputs"] += 1
        instance["updated_at"] = now
        failed = inp if isinstance(inp, CommandFailed) else None
        self._flush(tx, flow, key, ctx, now, failed)
        if isinstance(inp, CommandDone):
            close_retried(tx, flow, key, inp.step, now)
        return True

    @staticmethod
    def _mark_step(instance: dict[str, Any], inp: FlowInput) -> None:
        if isinstance(inp, CommandDone | CommandFailed) and inp.step in instance["steps"]:
            step = instance["steps"][inp.step]
            step["status"] = "done" if isinstance(inp, CommandDone) else "failed"
            if isinstance(inp, CommandDone):
                step["result"] = inp.result

    def _flush(self, tx: StateTx, flow: str, key: str, ctx: _Recorder, now: float,
               failed: CommandFailed | None = None) -> None:
        tx.put(instances(flow), key, ctx.instance)
        for step, command_id, command in ctx.sent:
            ordinal = int(tx.add(COUNTERS, OUTBOX, 1))
            tx.put(OUTBOX, f"{ordinal:015d}", {
                "id": command_id, "flow": flow, "key": key, "step": step,
                "command": asdict(command), "attempts": 0, "next_at": now, "created_at": now})
        for name, at in ctx.timers.items():
            index = f"{flow}|{key}|{name}"
            old = tx.get(TIMER_INDEX, index)
            if old is not None:
                tx.delete(TIMERS, old)
                tx.delete(TIMER_INDEX, index)
            if at is not None:
                tkey = timer_key(at, flow, key, name)
                tx.put(TIMERS, tkey, {"flow": flow, "key": key, "name": name, "at": at})
                tx.put(TIMER_INDEX, index, tkey)
        for kind, message, action, details in ctx.raised:
            # raised about a failed command: remember which, so a person can retry it after a fix
            failure = {"step": failed.step, "command": asdict(failed.command)} if failed else None
            record_exception(tx, now, flow, key, kind, message, action, details, failure)


class FlowSubscriber:
    """Feeds journal events to one flow through the delivery loop (position and decisions commit
    together, and events of one business key arrive in journal order)."""

    def __init__(self, engine: FlowEngine, flow: str) -> None:
        self._engine, self._flow = engine, flow
        self.name = f"flow:{flow}"
        self.types = frozenset(engine.latest[flow].types)
        self.replayable = False

    def handle(self, entry: JournalEntry, tx: StateTx) -> None:
        """Route the event to its instance."""
        env = entry.envelope
        inp = EventInput(env.type, env.data, env.source, env.id, entry.seq, entry.recorded_at)
        key = self._engine.latest[self._flow].key_of(inp)
        if key is not None:
            self._engine.apply(tx, self._flow, key, inp, entry.recorded_at)

    def forget(self, entry: JournalEntry, tx: StateTx) -> None:
        """Flows act on the outside world; a replay must not undo or redo them."""
