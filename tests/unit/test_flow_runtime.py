"""The flow runtime: commands once per step, retries, compensation, durable timers, versions."""

from __future__ import annotations

from typing import Any

import pytest

from plantwire.bootstrap import Hub, bootstrap_for_tests
from plantwire.clocks import ManualClock
from plantwire.errors import BusinessRuleViolation, TargetUnavailable
from plantwire.flows.api import (
    Command,
    CommandDone,
    CommandFailed,
    Context,
    EventInput,
    FlowInput,
    TimerFired,
)
from plantwire.flows.runtime import instances
from plantwire.simulators.scenario import plant_day

SLA = 3600.0


class RecordingSink:
    """A target that remembers which idempotency keys took effect (a real one dedupes on them)."""

    def __init__(self) -> None:
        self.effects: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.down = False
        self.refuse: set[str] = set()

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            raise TargetUnavailable("supplier portal answered 503")
        if command.name in self.refuse:
            raise BusinessRuleViolation(f"{command.name} refused")
        doc = self.effects.setdefault(idempotency_key, {"doc": f"D{len(self.effects) + 1}",
                                                         "name": command.name})
        return {"document": doc["doc"]}


class PoAck:
    """Test flow: send the PO, wait for the acknowledgment with an SLA, post a confirmation."""

    name = "po-ack"
    version = 1
    types = frozenset({"procurement.po.approved", "procurement.supplier.acknowledged"})

    def key_of(self, event: EventInput) -> str | None:
        return str(event.data["po_number"])

    def starts(self, event: EventInput) -> bool:
        return event.type == "procurement.po.approved"

    def react(self, ctx: Context, inp: FlowInput) -> None:
        if isinstance(inp, EventInput) and inp.type == "procurement.po.approved":
            ctx.state["lines"] = len(inp.data["lines"])
            ctx.send("send-po", Command("supplier", "send_po", {"po": ctx.key}),
                     compensation=Command("supplier", "cancel_po", {"po": ctx.key}))
            ctx.start_timer("ack-sla", ctx.now + SLA)
        elif isinstance(inp, EventInput):
            ctx.cancel_timer("ack-sla")
            ctx.send("confirm", Command("erp", "confirm_po", {"po": ctx.key}))
        elif isinstance(inp, TimerFired):
            ctx.raise_exception("ack-sla-missed", f"PO {ctx.key} not acknowledged in time",
                                "call the supplier", supplier="SUP", plant="1000")
        elif isinstance(inp, CommandFailed) and inp.step == "confirm":
            ctx.compensate()
            ctx.raise_exception("confirm-failed", inp.message, "fix the PO in the ERP")
        elif isinstance(inp, CommandDone) and inp.step == "confirm":
            ctx.finish("acknowledged")


@pytest.fixture
def world() -> tuple[Hub, ManualClock, RecordingSink, RecordingSink]:
    clock = ManualClock()
    supplier, erp = RecordingSink(), RecordingSink()
    hub = bootstrap_for_tests(clock=clock, flows=[PoAck()], sinks={"supplier": supplier, "erp": erp})
    return hub, clock, supplier, erp


def po_and_ack() -> tuple[dict[str, Any], dict[str, Any]]:
    day = list(plant_day("1000", 1, seed=3))
    return day[0], day[1]


def instance(hub: Hub, key: str) -> dict[str, Any]:
    with hub.state.transaction() as tx:
        found = tx.get(instances("po-ack"), key)
    assert found is not None
    return found


def test_happy_path_sends_each_command_once_and_finishes(world: Any) -> None:
    hub, clock, supplier, erp = world
    po, ack = po_and_ack()
    hub.ingest.submit_sync([po, po])
    hub.drain()
    assert [v["name"] for v in supplier.effects.values()] == ["send_po"]
    hub.ingest.submit_sync([ack])
    hub.drain()
    assert [v["name"] for v in erp.effects.values()] == ["confirm_po"]
    inst = instance(hub, po["data"]["po_number"])
    assert inst["status"] == "finished" and inst["outcome"] == "acknowledged"
    clock.advance(2 * SLA)
    hub.drain()
    assert hub.exceptions.list() == []  # the SLA timer was cancelled by the acknowledgment


def test_sla_timer_fires_and_raises_an_exception(world: Any) -> None:
    hub, clock, _, _ = world
    po, _ = po_and_ack()
    hub.ingest.submit_sync([po])
    hub.drain()
    clock.advance(SLA - 1)
    hub.drain()
    assert hub.exceptions.list() == []
    clock.advance(2)
    hub.drain()
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "ack-sla-missed" and ex["supplier"] == "SUP" and ex["action"] == "call the supplier"
    done = hub.exceptions.resolve(ex["id"], "supplier called, ack promised today")
    assert done["status"] == "resolved"


def test_target_down_is_retried_with_backoff_then_goes_through(world: Any) -> None:
    hub, clock, supplier, _ = world
    supplier.down = True
    po, _ = po_and_ack()
    hub.ingest.submit_sync([po])
    hub.drain()
    assert supplier.calls == 1 and supplier.effects == {}
    hub.drain()
    assert supplier.calls == 1  # nothing due before the backoff has passed
    supplier.down = False
    clock.advance(5)
    hub.drain()
    assert supplier.calls == 2 and len(supplier.effects) == 1


def test_resent_command_after_a_crash_takes_effect_once(world: Any) -> None:
    """The relay may call the sink again if it dies before recording the result; the key dedupes."""
    hub, _, supplier, _ = world
    po, _ = po_and_ack()
    hub.ingest.submit_sync([po])
    hub.dispatcher.drain()
    with hub.state.transaction() as tx:
        [(okey, row)] = tx.scan("outbox")
    supplier.execute(row["id"], Command(**row["command"]))  # the call that 'crashed' before commit
    hub.drain()
    assert supplier.calls == 2 and len(supplier.effects) == 1


def test_permanent_failure_compensates_succeeded_steps(world: Any) -> None:
    hub, _, supplier, erp = world
    erp.refuse.add("confirm_po")
    po, ack = po_and_ack()
    hub.ingest.submit_sync([po, ack])
    hub.drain()
    assert [v["name"] for v in supplier.effects.values()] == ["send_po", "cancel_po"]
    [ex] = hub.exceptions.list()
    assert ex["kind"] == "confirm-failed" and "refused" in ex["message"]


def test_running_instance_keeps_its_version() -> None:
    class PoAckV2(PoAck):
        version = 2

        def react(self, ctx: Context, inp: FlowInput) -> None:
            ctx.state["v2"] = True
            super().react(ctx, inp)

    clock, sink = ManualClock(), RecordingSink()
    hub = bootstrap_for_tests(clock=clock, flows=[PoAck()], sinks={"supplier": sink, "erp": sink})
    po, ack = po_and_ack()
    hub.ingest.submit_sync([po])
    hub.drain()
    # same stores, new code deployed with both versions
    from plantwire.flows.runtime import FlowEngine, FlowSubscriber

    engine = FlowEngine([PoAck(), PoAckV2()])
    sub = FlowSubscriber(engine, "po-ack")
    entry = hub.journal.get(ack["source"], ack["id"]) or hub.journal.get_seq(
        hub.ingest.submit_sync([ack])[0].seq or 0)
    assert entry is not None
    with hub.state.transaction() as tx:
        sub.handle(entry, tx)
        old = tx.get(instances("po-ack"), po["data"]["po_number"])
    assert old["version"] == 1 and "v2" not in old["state"]
    other = {**po, "id": "PO-new", "data": {**po["data"], "po_number": "4599999999"}}
    hub.ingest.submit_sync([other])
    new_entry = hub.journal.get(other["source"], other["id"])
    assert new_entry is not None
    with hub.state.transaction() as tx:
        sub.handle(new_entry, tx)
        new = tx.get(instances("po-ack"), "4599999999")
    assert new["version"] == 2 and new["state"]["v2"] is True


def test_flow_subscribers_cannot_be_replayed(world: Any) -> None:
    hub = world[0]
    from plantwire.service.replay import NotReplayable

    with pytest.raises(NotReplayable):
        hub.replayer.replay("flow:po-ack")


def test_timers_and_outbox_survive_a_restart(tmp_path: Any) -> None:
    from plantwire.bootstrap import Settings, bootstrap

    clock, supplier = ManualClock(), RecordingSink()
    supplier.down = True
    settings = Settings(data_dir=tmp_path)
    hub = bootstrap(settings, flows=[PoAck()], sinks={"supplier": supplier, "erp": supplier}, clock=clock)
    po, _ = po_and_ack()
    hub.ingest.submit_sync([po])
    hub.drain()
    hub.journal.close()
    hub.state.close()
    supplier.down = False
    clock.advance(SLA + 10)
    again = bootstrap(settings, flows=[PoAck()], sinks={"supplier": supplier, "erp": supplier}, clock=clock)
    again.drain()
    assert [v["name"] for v in supplier.effects.values()] == ["send_po"]
    assert [e["kind"] for e in again.exceptions.list()] == ["ack-sla-missed"]
    again.journal.close()
    again.state.close()


class PoAckNoUndo(PoAck):
    """Like PoAck, but a refused confirmation only raises an exception (nothing to undo)."""

    def react(self, ctx: Context, inp: FlowInput) -> None:
        if isinstance(inp, CommandFailed) and inp.step == "confirm":
            ctx.raise_exception("confirm-failed", inp.message, "fix the PO in the ERP, then retry")
            return
        super().react(ctx, inp)


def test_exception_about_a_failed_command_can_be_retried_after_a_fix() -> None:
    clock, supplier, erp = ManualClock(), RecordingSink(), RecordingSink()
    hub = bootstrap_for_tests(clock=clock, flows=[PoAckNoUndo()], sinks={"supplier": supplier, "erp": erp})
    erp.refuse.add("confirm_po")
    po, ack = po_and_ack()
    hub.ingest.submit_sync([po, ack])
    hub.drain()
    [ex] = hub.exceptions.list()
    assert ex["failed_step"] == "confirm" and ex["failed_command"]["name"] == "confirm_po"
    erp.refuse.clear()  # a person fixed the PO in the ERP
    assert hub.exceptions.retry(ex["id"])["status"] == "retrying"
    hub.drain()
    assert [v["name"] for v in erp.effects.values()] == ["confirm_po"]
    assert instance(hub, po["data"]["po_number"])["status"] == "finished"
    assert hub.exceptions.show(ex["id"])["status"] == "resolved"
    from plantwire.flows.exceptions import ExceptionStateError

    with pytest.raises(ExceptionStateError):
        hub.exceptions.retry(ex["id"])


def test_a_compensated_failure_is_not_retried(world: Any) -> None:
    hub, _, _, erp = world
    erp.refuse.add("confirm_po")
    po, ack = po_and_ack()
    hub.ingest.submit_sync([po, ack])
    hub.drain()
    [ex] = hub.exceptions.list()
    from plantwire.flows.exceptions import ExceptionStateError

    with pytest.raises(ExceptionStateError, match="compensated"):
        hub.exceptions.retry(ex["id"])
