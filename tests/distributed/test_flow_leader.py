"""Flow commands with several workers: only the worker that holds the leader's lease, as its row in
PostgreSQL says at the time, sends them (`plantwire worker` wiring, flows/pumps.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import NATS_URL, unique_bus_url

from plantwire.bootstrap import Settings, bootstrap
from plantwire.bus.consumer import BusDispatcher
from plantwire.bus.keys import PartitionLeases
from plantwire.cli.app import _flows_follow_the_leader
from plantwire.clocks import ManualClock
from plantwire.flows.api import Command, Context, EventInput, FlowInput
from plantwire.flows.pumps import CommandRelay
from plantwire.flows.runtime import FlowEngine
from plantwire.journal.memory import MemoryState


def test_a_leader_succeeded_while_cut_off_sends_no_more_commands(pg_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    hub = bootstrap(Settings(data_dir=tmp_path, backend=pg_url, bus=unique_bus_url(NATS_URL)), flows=[],
                    clock=clock)
    try:
        assert _flows_follow_the_leader(hub)
        assert isinstance(hub.dispatcher, BusDispatcher)
        leases = hub.dispatcher.leases
        leases.rebalance()
        assert leases.leader and hub.relay.lead() and hub.timers.lead()
        clock.advance(10)  # its renewals failed (PostgreSQL was away): the lease lapsed, nobody took it
        assert hub.relay.lead()
        successor = PartitionLeases(hub.state, clock, leases.partitions, hub.dispatcher.url.prefix,
                                    member="successor")
        assert 0 in successor.rebalance()
        assert leases.leader  # it still remembers the lease ...
        assert not hub.relay.lead() and not hub.timers.lead()  # ... the row says otherwise
    finally:
        hub.close()


class Post:
    """A flow that sends one command per instance."""

    name, version, types = "post", 1, frozenset({"x"})

    def key_of(self, event: EventInput) -> str | None:
        return str(event.data["k"])

    def starts(self, event: EventInput) -> bool:
        return True

    def react(self, ctx: Context, inp: FlowInput) -> None:
        if isinstance(inp, EventInput):
            ctx.send("s", Command("erp", "post", {"k": ctx.key}))


class Recording:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        self.keys.append(idempotency_key)
        return {}


def test_the_relay_asks_whether_it_still_leads_before_each_command() -> None:
    state, engine = MemoryState(), FlowEngine([Post()])
    with state.transaction() as tx:
        for k in "abc":
            engine.apply(tx, "post", k, EventInput("x", {"k": k}, "src", k, 1, 0.0), 0.0)
    answers = iter([True, True, False])  # the round starts, the second command, then: not any more
    sink = Recording()
    relay = CommandRelay(state, engine, {"erp": sink}, ManualClock(), lead=lambda: next(answers))
    assert relay.step() == 2
    assert sink.keys == ["post/a/s", "post/b/s"]
