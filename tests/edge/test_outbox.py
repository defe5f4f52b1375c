"""The outbox: per-key order with priorities, insert-if-absent, and a full disk that refuses cleanly."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantwire.clocks import ManualClock
from plantwire.domain.catalog import CATALOG
from plantwire.edge.intake import EdgeIntake
from plantwire.edge.outbox import Outbox, OutboxFull
from plantwire.edge.settings import HIGH, LOW, NORMAL, PriorityRule, parse_rule, priority_of
from plantwire.envelope import Envelope, Pending

from .conftest import hold


def drain(box: Outbox, limit: int) -> list[list[int]]:
    """Every batch the forwarder would send, acknowledging each as the hub would."""
    batches = []
    while batch := box.next_batch(limit):
        seqs = [s for s, _ in batch]
        batches.append(seqs)
        box.settle([(s, None) for s in seqs], [], 0.0)
    return batches


def pending(key: str, n: int) -> Pending:
    return Pending.of(Envelope(id=f"e{n}", source="test", type="t", partitionkey=key, contractversion="1",
                               data={"n": n}))


def test_priority_rules() -> None:
    assert priority_of("quality.hold.placed") == HIGH
    assert priority_of("production.goods.completed") == LOW
    assert priority_of("procurement.po.approved") == NORMAL
    assert priority_of("x.y", (parse_rule("x.*=low"),)) == LOW
    assert priority_of("x.y", (PriorityRule("z", HIGH),)) == NORMAL
    with pytest.raises(ValueError):
        parse_rule("quality.*=urgent")


def test_high_priority_goes_first_and_pulls_its_key_along(outbox: Outbox) -> None:
    # key A: low, low, high; key B: low x3; key C: normal. A's high drags A's older lows ahead.
    spec = [("B", LOW), ("A", LOW), ("C", NORMAL), ("B", LOW), ("A", LOW), ("A", HIGH), ("B", LOW)]
    stored = outbox.store([pending(k, i) for i, (k, _) in enumerate(spec)], [p for _, p in spec], 0.0)
    seq = [s.seq for s in stored]
    sent = [s for batch in drain(outbox, 100) for s in batch]
    assert sent == [seq[1], seq[4], seq[5], seq[2], seq[0], seq[3], seq[6]]


def test_small_batches_keep_key_order(outbox: Outbox) -> None:
    spec = [("A", LOW)] * 5 + [("A", HIGH), ("B", HIGH)]
    stored = outbox.store([pending(k, i) for i, (k, _) in enumerate(spec)], [p for _, p in spec], 0.0)
    batches = drain(outbox, 2)
    assert [s for b in batches for s in b] == [s.seq for s in stored[:6]] + [stored[6].seq]
    assert all(len(b) <= 2 for b in batches)


@settings(max_examples=60, deadline=None)
@given(spec=st.lists(st.tuples(st.sampled_from("ABCDE"), st.sampled_from([HIGH, NORMAL, LOW])),
                     min_size=1, max_size=60),
       limit=st.integers(1, 9))
def test_any_mix_drains_once_in_key_order_with_priorities(tmp_path_factory: Any, spec: Any,
                                                          limit: int) -> None:
    box = Outbox(tmp_path_factory.mktemp("q") / "o.db")
    try:
        stored = box.store([pending(k, i) for i, (k, _) in enumerate(spec)], [p for _, p in spec], 0.0)
        sent = [s for b in drain(box, limit) for s in b]
    finally:
        box.close()
    seqs = [s.seq for s in stored]
    assert sorted(sent) == sorted(seqs)  # each exactly once
    by_key: dict[str, list[int]] = defaultdict(list)
    for seq, (key, _) in zip(seqs, spec, strict=True):
        by_key[key].append(seq)
    position = {s: i for i, s in enumerate(sent)}
    for key_seqs in by_key.values():
        assert [position[s] for s in key_seqs] == sorted(position[s] for s in key_seqs)
    # a high event waits only for older events of its own key (never for another key's routine ones)
    prio = dict(zip(seqs, (p for _, p in spec), strict=True))
    key_of = dict(zip(seqs, (k for k, _ in spec), strict=True))
    for s in seqs:
        if prio[s] == HIGH:
            ahead = sent[: position[s]]
            assert all(prio[a] == HIGH or any(key_of[b] == key_of[a] and prio[b] == HIGH
                                              and position[b] <= position[s] for b in seqs)
                       for a in ahead)


def test_insert_if_absent(intake: EdgeIntake, day: list[dict[str, Any]]) -> None:
    first = intake.accept_sync(day[:10])
    assert [r["status"] for r in first] == ["accepted"] * 10
    again = intake.accept_sync(day[:10] + [day[10], day[10]])
    assert [r["status"] for r in again] == ["duplicate"] * 10 + ["accepted", "duplicate"]
    assert [r["seq"] for r in again[:10]] == [r["seq"] for r in first]
    changed = dict(day[0], data={**day[0]["data"], "currency": "USD"})
    [conflict] = intake.accept_sync([changed])
    assert conflict["status"] == "conflict" and conflict["errors"][0]["rule"] == "identity-conflict"


def test_invalid_events_are_refused_with_paths(intake: EdgeIntake, day: list[dict[str, Any]]) -> None:
    bad = dict(day[3], data={**day[3]["data"], "quantity": {"value": "12,5", "uom": ""}})
    out = intake.accept_sync([bad, day[4], "nope"])
    assert [r["status"] for r in out] == ["rejected", "accepted", "rejected"]
    assert out[0]["errors"][0]["path"].startswith("$.data.quantity")
    assert "seq" not in out[0] and out[1]["status_url"] == f"/v1/outbox/{out[1]['seq']}"


def test_full_outbox_refuses_cleanly_and_resumes_after_acks(tmp_path: Path,
                                                            day: list[dict[str, Any]]) -> None:
    box = Outbox(tmp_path / "small.db", max_bytes=256 * 1024)
    intake = EdgeIntake(box, CATALOG, ManualClock())
    kept: list[dict[str, Any]] = []
    with pytest.raises(OutboxFull):
        for i in range(1000):
            for r in intake.accept_sync([dict(e, id=f"{e['id']}#{i}") for e in day[:20]]):
                kept.append(r)
    conn = sqlite3.connect(tmp_path / "small.db")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == len(kept)  # nothing half-written
    conn.close()
    with pytest.raises(OutboxFull):
        intake.accept_sync(day[20:40])
    drain(box, 500)  # the hub acknowledged everything: those rows may go to make room
    assert [r["status"] for r in intake.accept_sync(day[20:40])] == ["accepted"] * 20
    box.close()


def test_survives_reopen(tmp_path: Path, day: list[dict[str, Any]]) -> None:
    box = Outbox(tmp_path / "o.db")
    EdgeIntake(box, CATALOG, ManualClock()).accept_sync(day)
    box.close()
    again = Outbox(tmp_path / "o.db")
    assert len(drain(again, 10_000)[0]) == len(day)
    again.close()


def test_quality_hold_overtakes_an_older_routine_backlog(intake: EdgeIntake,
                                                         day: list[dict[str, Any]]) -> None:
    routine = intake.accept_sync([e for e in day if not e["type"].startswith("quality.")])
    [held] = intake.accept_sync([hold(1)])
    assert held["priority"] == "high"
    first = intake.outbox.next_batch(10)
    assert first[0][0] == held["seq"] and held["seq"] > max(r["seq"] for r in routine)
