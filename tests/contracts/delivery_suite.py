"""The delivery contract: the Dispatcher, dead letters, queries and replay over one backend pair.

Subclass `DeliveryContract` and override `make_journal` and `make_state` (same tmp_path reopens
the same stores when `durable` is true). Time only moves by `ManualClock.advance`; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from journal_suite import envelope

from plantwire.clocks import ManualClock
from plantwire.domain.catalog import CATALOG
from plantwire.envelope import JournalEntry, Pending
from plantwire.errors import (
    BusinessRuleViolation,
    NotFound,
    PermanentError,
    TargetUnavailable,
)
from plantwire.ports import Journal, StateStore, StateTx, Subscriber
from plantwire.projections import inventory as inv
from plantwire.projections import tally
from plantwire.projections.inventory import Inventory, on_hand
from plantwire.projections.tally import Tally
from plantwire.service import bookkeeping as books
from plantwire.service.deadletters import DeadLetters, DeadLetterStateError
from plantwire.service.delivery import Dispatcher
from plantwire.service.queries import Queries
from plantwire.service.replay import Replayer
from plantwire.service.retry import RetryPolicy
from plantwire.service.validation import validate_event
from plantwire.simulators.scenario import plant_day

T0 = 1_800_000_000.0
POLICY = RetryPolicy(max_attempts=3, initial_interval=10.0, backoff_coefficient=2.0,
                     max_interval=100.0, jitter=0.0)
EFFECTS = "test.effects"
ORDER = "test.order"
RETRYABLE = "plantwire.errors.TargetUnavailable"
PERMANENT = "plantwire.errors.BusinessRuleViolation"


class Crash(BaseException):
    """Stands for the process dying mid-delivery (not an error the loop may handle)."""


class Recorder:
    """Writes an effect for every event, then raises if the event is set to fail.

    `failing` maps event ids to the error to raise; clear it to "fix the cause".
    """

    def __init__(self, name: str = "recorder", failing: dict[str, type[Exception]] | None = None,
                 types: frozenset[str] = frozenset()) -> None:
        self.name = name
        self.types = types
        self.failing = dict(failing or {})

    def handle(self, entry: JournalEntry, tx: StateTx) -> None:
        env = entry.envelope
        tx.add(EFFECTS, f"{self.name}|{env.id}", 1)
        seen = tx.get(ORDER, f"{self.name}|{entry.key}") or []
        tx.put(ORDER, f"{self.name}|{entry.key}", [*seen, env.id])
        error = self.failing.get(env.id)
        if error is not None:
            raise error(f"{env.id} failed on purpose")

    def forget(self, entry: JournalEntry, tx: StateTx) -> None:
        tx.add(EFFECTS, f"{self.name}|{entry.envelope.id}", -1)


class CrashingTally(Tally):
    """The tally, but the process "dies" while handling the n-th event it is given."""

    def __init__(self, crash_at: int) -> None:
        self.calls, self.crash_at = 0, crash_at

    def handle(self, entry: JournalEntry, tx: StateTx) -> None:
        super().handle(entry, tx)
        self.calls += 1
        if self.calls == self.crash_at:
            raise Crash


def plant_events(orders: int, seed: int = 7) -> list[Pending]:
    """A plant day as validated, journal-ready envelopes."""
    return [validate_event(obj, CATALOG) for obj in plant_day(orders=orders, seed=seed)]


def dump(state: StateStore, *namespaces: str) -> dict[str, list[tuple[str, Any]]]:
    """Everything in some namespaces, to compare before and after."""
    with state.transaction() as tx:
        return {ns: tx.scan(ns) for ns in namespaces}


class DeliveryContract:
    """Exactly-once effects, per-key order, retries, dead letters, queries and replay."""

    durable = True

    def make_journal(self, tmp_path: Path, clock: ManualClock) -> Journal:
        raise NotImplementedError

    def make_state(self, tmp_path: Path) -> StateStore:
        raise NotImplementedError

    # -- fixtures and helpers --------------------------------------------------------------

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(T0)

    @pytest.fixture
    def journal(self, tmp_path: Path, clock: ManualClock) -> Iterator[Journal]:
        journal = self.make_journal(tmp_path, clock)
        yield journal
        journal.close()

    @pytest.fixture
    def state(self, tmp_path: Path) -> Iterator[StateStore]:
        state = self.make_state(tmp_path)
        yield state
        state.close()

    @staticmethod
    def dispatcher(journal: Journal, state: StateStore, clock: ManualClock, *subs: Subscriber,
                   batch_size: int = 500) -> Dispatcher:
        return Dispatcher(journal, state, list(subs), clock, default_policy=POLICY,
                          rand=lambda: 0.0, batch_size=batch_size)

    @staticmethod
    def send(journal: Journal, *ids: str) -> dict[str, int]:
        """Append test events named '<key><n>' (e.g. 'A1'); returns their seqs by id."""
        outs = journal.append([Pending.of(envelope(i, key=i[0])) for i in ids])
        return {i: o.seq for i, o in zip(ids, outs, strict=True)}

    @staticmethod
    def effects(state: StateStore, sub: str = "recorder") -> dict[str, int]:
        with state.transaction() as tx:
            return {k.split("|", 1)[1]: int(Decimal(str(v)))
                    for k, v in tx.scan(EFFECTS, f"{sub}|") if Decimal(str(v))}

    @staticmethod
    def order(state: StateStore, key: str, sub: str = "recorder") -> list[str]:
        with state.transaction() as tx:
            return list(tx.get(ORDER, f"{sub}|{key}") or [])

    @staticmethod
    def pending_record(state: StateStore, seq: int, sub: str = "recorder") -> dict[str, Any] | None:
        with state.transaction() as tx:
            return tx.get(books.pending(sub), books.seq_key(seq))

    @staticmethod
    def delivery(journal: Journal, state: StateStore, subs: list[Subscriber],
                 event_id: str) -> dict[str, Any]:
        entry = journal.get("erp/plant-1000", event_id)
        assert entry is not None
        return Queries(journal, state, subs).delivery_of(entry)["recorder"]

    # -- delivery --------------------------------------------------------------------------

    @pytest.mark.parametrize("batch_size", [500, 2])
    def test_delivers_every_entry_once_in_journal_order(
        self, journal: Journal, state: StateStore, clock: ManualClock, batch_size: int
    ) -> None:
        rec = Recorder()
        seqs = self.send(journal, "A1", "B1", "A2", "C1", "B2", "A3")
        d = self.dispatcher(journal, state, clock, rec, batch_size=batch_size)
        d.drain()
        assert self.effects(state) == dict.fromkeys(seqs, 1)
        assert self.order(state, "A") == ["A1", "A2", "A3"]
        assert self.order(state, "B") == ["B1", "B2"]
        assert d.step() == 0
        status = Queries(journal, state, [rec]).status()["subscribers"]["recorder"]
        assert status["position"] == journal.head() and status["lag"] == 0
        assert status["delivered"] == 6 and status["retrying"] == status["blocked"] == 0

    def test_only_subscribed_types_are_delivered(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        rec = Recorder(types=frozenset({"inventory.transferred"}))
        journal.append([Pending.of(envelope("A1", key="A")),
                        Pending.of(envelope("A2", key="A", type_="inventory.transferred")),
                        Pending.of(envelope("B1", key="B"))])
        d = self.dispatcher(journal, state, clock, rec)
        d.drain()
        assert self.effects(state) == {"A2": 1}
        with state.transaction() as tx:
            assert books.cursor(tx, "recorder") == journal.head()

    def test_a_failed_entry_leaves_no_effect_and_does_not_count_as_delivered(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        rec = Recorder(failing={"A1": TargetUnavailable})
        seqs = self.send(journal, "A1", "B1", "A2", "B2", "C1")
        d = self.dispatcher(journal, state, clock, rec)
        d.drain()
        # the handler wrote its effect for A1 before raising: it must be gone
        assert self.effects(state) == {"B1": 1, "B2": 1, "C1": 1}
        assert self.order(state, "A") == []
        record = self.pending_record(state, seqs["A1"])
        assert record is not None and record["status"] == "retry" and record["attempts"] == 1
        assert self.delivery(journal, state, [rec], "A1")["state"] == "retrying"
        status = Queries(journal, state, [rec]).status()["subscribers"]["recorder"]
        assert status["delivered"] == 3 and status["retrying"] == 1 and status["blocked"] == 1

    def test_a_crash_mid_batch_rolls_back_effects_and_position_together(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        self.send(journal, "A1", "B1", "A2", "C1")
        crashing = CrashingTally(crash_at=3)
        with pytest.raises(Crash):
            self.dispatcher(journal, state, clock, crashing).drain()
        with state.transaction() as tx:
            assert books.cursor(tx, "tally") == 0
            assert tx.scan(tally.EVENTS) == []
        self.dispatcher(journal, state, clock, Tally()).drain()
        with state.transaction() as tx:
            counts = [Decimal(str(v)) for _, v in tx.scan(tally.EVENTS)]
        assert counts == [1, 1, 1, 1]

    def test_a_failing_head_blocks_only_later_events_of_its_key(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        rec = Recorder(failing={"A1": TargetUnavailable})
        seqs = self.send(journal, "A1", "B1", "A2")
        d = self.dispatcher(journal, state, clock, rec)
        d.drain()
        seqs |= self.send(journal, "C1", "A3", "B2")
        d.drain()
        assert self.effects(state) == {"B1": 1, "B2": 1, "C1": 1}
        blocked = self.delivery(journal, state, [rec], "A3")
        assert blocked == {"state": "blocked", "behind": seqs["A1"]}
        assert self.delivery(journal, state, [rec], "A2")["behind"] == seqs["A1"]

        rec.failing.clear()  # the cause is fixed; the retry is due after the backoff
        d.drain()
        assert self.order(state, "A") == []
        clock.advance(10)
        d.drain()
        assert self.order(state, "A") == ["A1", "A2", "A3"]
        assert self.effects(state) == dict.fromkeys(seqs, 1)
        with state.transaction() as tx:
            assert tx.scan(books.heads("recorder")) == []
            assert tx.scan(books.queue("recorder")) == []
            assert tx.scan(books.pending("recorder")) == []
        assert self.delivery(journal, state, [rec], "A3") == {"state": "delivered"}

    def test_retries_happen_only_once_the_backoff_has_passed(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        rec = Recorder(failing={"A1": TargetUnavailable})
        seqs = self.send(journal, "A1")
        d = self.dispatcher(journal, state, clock, rec)
        d.drain()
        record = self.pending_record(state, seqs["A1"])
        assert record is not None
        assert (record["attempts"], record["next_at"]) == (1, T0 + 10)
        clock.advance(9.999)
        d.drain()
        assert self.pending_record(state, seqs["A1"])["attempts"] == 1  # type: ignore[index]
        clock.advance(0.001)
        d.drain()
        record = self.pending_record(state, seqs["A1"])
        assert record is not None
        assert (record["attempts"], record["next_at"]) == (2, T0 + 10 + 20)  # doubled
        assert record["status"] == "retry"
        clock.advance(19.5)
        d.drain()
        assert self.pending_record(state, seqs["A1"])["attempts"] == 2  # type: ignore[index]
        clock.advance(0.5)
        d.drain()  # third attempt of three: dead-lettered
        record = self.pending_record(state, seqs["A1"])
        assert record is not None and record["status"] == "dead" and record["attempts"] == 3
        clock.advance(10_000)
        d.drain()
        assert self.pending_record(state, seqs["A1"])["attempts"] == 3  # type: ignore[index]
        assert self.effects(state) == {}

    def _dead_letter_a1(self, journal: Journal, state: StateStore, clock: ManualClock,
                        error: type[Exception]) -> tuple[Recorder, Dispatcher, dict[str, int]]:
        rec = Recorder(failing={"A1": error})
        seqs = self.send(journal, "A1", "B1", "A2", "A3", "B2")
        d = self.dispatcher(journal, state, clock, rec)
        d.drain()
        if not issubclass(error, PermanentError):
            for wait in (10, 20):
                clock.advance(wait)
                d.drain()
        return rec, d, seqs

    def test_after_max_attempts_a_dead_letter_keeps_the_full_context(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        rec, _, seqs = self._dead_letter_a1(journal, state, clock, TargetUnavailable)
        letters = DeadLetters(journal, state, clock)
        [letter] = letters.list()
        assert letter["subscriber"] == "recorder"
        assert (letter["source"], letter["event_id"]) == ("erp/plant-1000", "A1")
        assert letter["seq"] == seqs["A1"] and letter["key"] == "A"
        assert letter["type"] == "production.order.released"
        assert letter["status"] == "open"
        assert letter["error_class"] == RETRYABLE
        assert letter["error_message"] == "A1 failed on purpose"
        assert letter["attempts"] == 3
        assert letter["first_failed_at"] == T0 and letter["last_failed_at"] == T0 + 30
        assert letter["blocking"] == 2
        shown = letters.show(letter["id"])
        assert shown["blocked_seqs"] == [seqs["A2"], seqs["A3"]]
        assert shown["event"]["id"] == "A1" and shown["event"]["data"] == {"n": "A1"}
        status = Queries(journal, state, [rec]).status()
        assert status["dead_letters_open"] == 1
        assert status["subscribers"]["recorder"]["dead_lettered"] == 1
        assert self.effects(state) == {"B1": 1, "B2": 1}

    def test_a_permanent_error_dead_letters_at_once(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        self._dead_letter_a1(journal, state, clock, BusinessRuleViolation)
        [letter] = DeadLetters(journal, state, clock).list()
        assert letter["attempts"] == 1 and letter["error_class"] == PERMANENT
        assert letter["first_failed_at"] == letter["last_failed_at"] == T0

    def test_retrying_a_dead_letter_after_the_fix_delivers_the_key_in_order(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        rec, d, seqs = self._dead_letter_a1(journal, state, clock, BusinessRuleViolation)
        letters = DeadLetters(journal, state, clock)
        [letter] = letters.list()
        rec.failing.clear()
        clock.advance(3600)
        retried = letters.retry(letter["id"])
        assert retried["status"] == "retrying" and retried["retries"] == 1
        assert self.delivery(journal, state, [rec], "A1")["state"] == "retrying"
        d.drain()
        assert self.order(state, "A") == ["A1", "A2", "A3"]
        assert self.effects(state) == dict.fromkeys(seqs, 1)
        done = letters.show(letter["id"])
        assert done["status"] == "resolved" and done["resolved_at"] == T0 + 3600
        assert done["blocking"] == 0 and done["blocked_seqs"] == []
        assert letters.list() == []
        with pytest.raises(DeadLetterStateError):
            letters.retry(letter["id"])

    def test_a_retry_that_fails_again_reopens_the_same_letter(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        _, d, _ = self._dead_letter_a1(journal, state, clock, BusinessRuleViolation)
        letters = DeadLetters(journal, state, clock)
        [letter] = letters.list()
        letters.retry(letter["id"])
        d.drain()
        [again] = letters.list(status=None)
        assert again["id"] == letter["id"] and again["status"] == "open"
        assert again["attempts"] == 2 and again["retries"] == 1
        assert again["blocking"] == 2
        assert self.order(state, "A") == []

    def test_discard_requires_a_reason_keeps_it_and_releases_the_key(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        rec, d, _ = self._dead_letter_a1(journal, state, clock, BusinessRuleViolation)
        letters = DeadLetters(journal, state, clock)
        [letter] = letters.list()
        for reason in ("", "   "):
            with pytest.raises(DeadLetterStateError):
                letters.discard(letter["id"], reason)
        assert letters.show(letter["id"])["status"] == "open"
        d.drain()
        assert self.order(state, "A") == []  # still held up

        clock.advance(60)
        done = letters.discard(letter["id"], "  posted by hand in the ERP  ")
        assert done["status"] == "discarded"
        assert done["reason"] == "posted by hand in the ERP"
        assert done["resolved_at"] == T0 + 60
        d.drain()
        assert self.order(state, "A") == ["A2", "A3"]  # A1's effect never happened
        assert "A1" not in self.effects(state)
        assert letters.show(letter["id"])["reason"] == "posted by hand in the ERP"
        with pytest.raises(DeadLetterStateError):
            letters.discard(letter["id"], "again")
        with pytest.raises(DeadLetterStateError):
            letters.retry(letter["id"])
        with pytest.raises(NotFound):
            letters.discard(999, "no such letter")
        assert Queries(journal, state, [rec]).status()["subscribers"]["recorder"]["discarded"] == 1

    def test_delivery_of_shows_each_state(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        rec = Recorder(failing={"A1": TargetUnavailable, "B1": BusinessRuleViolation})
        seqs = self.send(journal, "A1", "A2", "B1", "C1")
        subs: list[Subscriber] = [rec]
        assert self.delivery(journal, state, subs, "C1") == {"state": "waiting"}
        self.dispatcher(journal, state, clock, rec).drain()
        assert self.delivery(journal, state, subs, "C1") == {"state": "delivered"}
        retrying = self.delivery(journal, state, subs, "A1")
        assert retrying["state"] == "retrying" and retrying["attempts"] == 1
        assert retrying["next_at"] == T0 + 10 and retrying["error_class"] == RETRYABLE
        assert retrying["error_message"] == "A1 failed on purpose" and retrying["dlq"] is None
        assert self.delivery(journal, state, subs, "A2") == {
            "state": "blocked", "behind": seqs["A1"]}
        dead = self.delivery(journal, state, subs, "B1")
        assert dead["state"] == "dead-lettered" and dead["error_class"] == PERMANENT
        assert dead["dlq"] == DeadLetters(journal, state, clock).list()[0]["id"]
        other = Recorder(name="other", types=frozenset({"inventory.transferred"}))
        entry = journal.get("erp/plant-1000", "C1")
        assert entry is not None
        assert Queries(journal, state, [rec, other]).delivery_of(entry).keys() == {"recorder"}

    # -- the real projections --------------------------------------------------------------

    def test_inventory_from_a_plant_day(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        orders = 6
        journal.append(plant_events(orders))
        self.dispatcher(journal, state, clock, Inventory(), Tally()).drain()
        with state.transaction() as tx:
            stock = on_hand(tx)
        # every receipt brings 10 more of a component than the order consumes
        raw = {k: v for k, v in stock.items() if k.split("|")[2] == "RM01"}
        assert sum(raw.values()) == 10 * 2 * orders and all(v % 10 == 0 for v in raw.values())
        assert not any(k.split("|")[2] == "FG01" for k in stock)  # all moved to the warehouse
        assert len([k for k in stock if k.split("|")[2] == "WH01"]) == orders  # a lot each
        assert DeadLetters(journal, state, clock).list() == []

    def test_consuming_missing_stock_is_dead_lettered_with_the_rule(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        [obj] = [e for e in plant_day(orders=1) if e["type"] == "production.component.consumed"][:1]
        journal.append([validate_event(obj, CATALOG)])
        self.dispatcher(journal, state, clock, Inventory()).drain()
        [letter] = DeadLetters(journal, state, clock).list()
        assert letter["error_class"] == PERMANENT and letter["attempts"] == 1
        assert "insufficient stock" in letter["error_message"]
        with state.transaction() as tx:
            assert on_hand(tx) == {}

    # -- replay ----------------------------------------------------------------------------

    def _delivered_day(self, journal: Journal, state: StateStore, clock: ManualClock,
                       orders: int = 6) -> tuple[list[JournalEntry], list[JournalEntry]]:
        """Two halves of a day, journaled an hour apart and delivered to both projections."""
        events = plant_events(orders)
        half = len(events) // 2
        journal.append(events[:half])
        clock.advance(3600)
        journal.append(events[half:])
        self.dispatcher(journal, state, clock, Inventory(), Tally()).drain()
        entries, _ = journal.read(0, 10_000, Inventory.types)
        late = [e for e in entries if e.recorded_at >= T0 + 3600]
        return entries, late

    @staticmethod
    def replayer(journal: Journal, state: StateStore) -> Replayer:
        return Replayer(journal, state, {"inventory": Inventory(), "tally": Tally()}, page=7)

    @staticmethod
    def mis_apply(state: StateStore, entry: JournalEntry, wrong: Decimal) -> None:
        """As if an old, buggy mapping had applied `wrong` instead of the event's first delta."""
        with state.transaction() as tx:
            moves = tx.get(inv.MOVES, f"{entry.seq:015d}")
            key, right = moves[0][0], Decimal(moves[0][1])
            moves[0][1] = str(wrong)
            tx.put(inv.MOVES, f"{entry.seq:015d}", moves)
            tx.add(inv.BALANCES, key, wrong - right)

    @staticmethod
    def snapshot(state: StateStore) -> dict[str, Decimal]:
        with state.transaction() as tx:
            return on_hand(tx)

    def test_replay_rebuilds_what_a_wrong_mapping_applied(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        entries, _ = self._delivered_day(journal, state, clock)
        good = self.snapshot(state)
        moves = dump(state, inv.MOVES)
        completions = [e for e in entries if e.type == "production.goods.completed"]
        self.mis_apply(state, completions[0], Decimal("999"))
        self.mis_apply(state, completions[3], Decimal("0.5"))
        assert self.snapshot(state) != good
        report = self.replayer(journal, state).replay("inventory")
        assert self.snapshot(state) == good
        assert dump(state, inv.MOVES) == moves
        assert report.selected == report.replayed == len(entries)
        assert report.by_type == {t: sum(1 for e in entries if e.type == t)
                                  for t in {e.type for e in entries}}
        assert (report.first_seq, report.last_seq) == (entries[0].seq, entries[-1].seq)
        assert report.skipped_held == 0 and not report.dry_run

    def test_replay_repairs_a_balance_corrupted_outside_the_projection(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        self._delivered_day(journal, state, clock)
        good = self.snapshot(state)
        with state.transaction() as tx:
            key = next(iter(good))
            tx.add(inv.BALANCES, key, 7)
        self.replayer(journal, state).replay("inventory")
        assert self.snapshot(state) == good

    def test_dry_run_changes_nothing(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        entries, _ = self._delivered_day(journal, state, clock)
        self.mis_apply(state, entries[2], Decimal("42"))
        before = dump(state, inv.BALANCES, inv.MOVES, tally.EVENTS, books.CURSOR)
        report = self.replayer(journal, state).replay("inventory", dry_run=True)
        assert report.dry_run and report.replayed == 0 and report.selected == len(entries)
        assert dump(state, inv.BALANCES, inv.MOVES, tally.EVENTS, books.CURSOR) == before

    def test_replay_with_a_type_filter_touches_only_that_type(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        entries, _ = self._delivered_day(journal, state, clock)
        good, moves = self.snapshot(state), dump(state, inv.MOVES)[inv.MOVES]
        completion = next(e for e in entries if e.type == "production.goods.completed")
        transfer = next(e for e in entries if e.type == "inventory.transferred")
        self.mis_apply(state, completion, Decimal("77"))
        self.mis_apply(state, transfer, Decimal("5"))
        report = self.replayer(journal, state).replay(
            "inventory", types={"production.goods.completed"})
        completions = [e for e in entries if e.type == "production.goods.completed"]
        assert report.by_type == {"production.goods.completed": len(completions)}
        assert report.selected == report.replayed == len(completions)
        after = dict(dump(state, inv.MOVES)[inv.MOVES])
        assert after[f"{completion.seq:015d}"] == dict(moves)[f"{completion.seq:015d}"]
        assert Decimal(after[f"{transfer.seq:015d}"][0][1]) == 5  # not selected: still wrong
        assert self.snapshot(state) != good
        self.replayer(journal, state).replay("inventory", types={"inventory.transferred"})
        assert self.snapshot(state) == good

    def test_replay_since_selects_entries_recorded_from_then_on(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        entries, late = self._delivered_day(journal, state, clock)
        early = [e for e in entries if e not in late]
        assert early and late
        self.mis_apply(state, late[0], Decimal("1234"))
        self.mis_apply(state, early[0], Decimal("4321"))
        report = self.replayer(journal, state).replay("inventory", since=T0 + 3600)
        assert report.selected == report.replayed == len(late)
        assert report.first_seq == late[0].seq
        with state.transaction() as tx:
            late_move = tx.get(inv.MOVES, f"{late[0].seq:015d}")
            early_move = tx.get(inv.MOVES, f"{early[0].seq:015d}")
        assert Decimal(late_move[0][1]) != Decimal("1234")
        assert Decimal(early_move[0][1]) == Decimal("4321")  # before `since`: untouched

    def test_replay_skips_held_entries_and_keeps_tally_at_one(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        [obj] = [e for e in plant_day(orders=1, seed=3)
                 if e["type"] == "production.component.consumed"][:1]
        obj = {**obj, "id": "CONS-short", "data": {**obj["data"], "item_id": "RM-NOT-STOCKED"}}
        self._delivered_day(journal, state, clock)
        journal.append([validate_event(obj, CATALOG)])
        self.dispatcher(journal, state, clock, Inventory(), Tally()).drain()
        assert len(DeadLetters(journal, state, clock).list()) == 1  # short stock: held
        good, tallied = self.snapshot(state), dump(state, tally.EVENTS, tally.TYPES)
        report = self.replayer(journal, state).replay("inventory")
        assert report.skipped_held == 1
        assert self.snapshot(state) == good
        tally_report = self.replayer(journal, state).replay("tally")
        assert tally_report.replayed == journal.head()
        assert dump(state, tally.EVENTS, tally.TYPES) == tallied
        with pytest.raises(NotFound):
            self.replayer(journal, state).replay("nobody")

    def test_replay_does_not_apply_a_discarded_event(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        self._delivered_day(journal, state, clock)
        [obj] = [e for e in plant_day(orders=1) if e["type"] == "production.component.consumed"][:1]
        short = {**obj, "id": "CONS-short", "data": {**obj["data"], "item_id": "RM-NOT-STOCKED"}}
        journal.append([validate_event(short, CATALOG)])
        self.dispatcher(journal, state, clock, Inventory(), Tally()).drain()
        letters = DeadLetters(journal, state, clock)
        [letter] = letters.list()
        letters.discard(letter["id"], "wrong item, corrected in the MES")
        good = self.snapshot(state)
        report = self.replayer(journal, state).replay("inventory")  # must not raise short stock
        assert report.skipped_discarded == 1 and report.skipped_held == 0
        assert self.snapshot(state) == good

    def test_replay_never_hands_a_subscriber_a_type_it_does_not_take(
        self, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        self._delivered_day(journal, state, clock)
        before = dump(state, inv.BALANCES, inv.MOVES)
        report = self.replayer(journal, state).replay(
            "inventory", types={"procurement.po.approved", "quality.hold.placed"})
        assert report.selected == report.replayed == 0 and report.by_type == {}
        assert dump(state, inv.BALANCES, inv.MOVES) == before

    # -- exactly once across restarts ------------------------------------------------------

    def reopen(self, tmp_path: Path, clock: ManualClock, journal: Journal,
               state: StateStore) -> tuple[Journal, StateStore]:
        """A process restart: the durable stores are closed and opened again from disk."""
        if not self.durable:
            return journal, state
        journal.close()
        state.close()
        return self.make_journal(tmp_path, clock), self.make_state(tmp_path)

    def test_two_dispatchers_over_the_same_journal_apply_each_event_once(
        self, tmp_path: Path, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        events = plant_events(8)
        journal.append(events[:40])
        self.dispatcher(journal, state, clock, Inventory(), Tally(), batch_size=16).drain()
        journal.append(events)  # the sources resend everything: duplicates are dropped
        assert journal.head() == len(events)
        j2, s2 = self.reopen(tmp_path, clock, journal, state)
        try:
            first = self.dispatcher(j2, s2, clock, Inventory(), Tally(), batch_size=16)
            first.drain()
            again = self.dispatcher(j2, s2, clock, Inventory(), Tally())
            assert again.step() == 0
            again.drain()
            with s2.transaction() as tx:
                counts = {k: Decimal(str(v)) for k, v in tx.scan(tally.EVENTS)}
                per_type = {k: Decimal(str(v)) for k, v in tx.scan(tally.TYPES)}
                stock = on_hand(tx)
            assert len(counts) == len(events) and set(counts.values()) == {1}
            assert sum(per_type.values()) == len(events)
            raw = sum(v for k, v in stock.items() if k.split("|")[2] == "RM01")
            assert raw == 10 * 2 * 8
        finally:
            if j2 is not journal:
                j2.close()
                s2.close()

    def test_a_crash_then_restart_applies_each_event_once(
        self, tmp_path: Path, journal: Journal, state: StateStore, clock: ManualClock
    ) -> None:
        events = plant_events(4)
        journal.append(events)
        with pytest.raises(Crash):
            self.dispatcher(journal, state, clock, CrashingTally(crash_at=25), batch_size=10).drain()
        with state.transaction() as tx:
            assert books.cursor(tx, "tally") == 20  # two batches committed, the third rolled back
        j2, s2 = self.reopen(tmp_path, clock, journal, state)
        try:
            self.dispatcher(j2, s2, clock, Tally(), batch_size=10).drain()
            with s2.transaction() as tx:
                counts = [Decimal(str(v)) for _, v in tx.scan(tally.EVENTS)]
            assert len(counts) == len(events) and set(counts) == {1}
        finally:
            if j2 is not journal:
                j2.close()
                s2.close()

