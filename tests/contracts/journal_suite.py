"""The journal contract: one abstract suite that every Journal backend must pass.

Subclass `JournalContract` in a `test_journal_<backend>.py` module and override `make_journal`
(and `reopen_is_durable` when the backend keeps nothing across a close).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plantwire.clocks import ManualClock
from plantwire.envelope import Appended, Conflicted, Envelope, Pending
from plantwire.ports import Journal

MONTH = 31 * 24 * 3600.0


def envelope(
    event_id: str,
    source: str = "erp/plant-1000",
    type_: str = "production.order.released",
    key: str = "K1",
    data: dict[str, Any] | None = None,
    **extensions: Any,
) -> Envelope:
    """A small envelope; the journal does not validate contracts, so data can be anything."""
    return Envelope(
        id=event_id,
        source=source,
        type=type_,
        partitionkey=key,
        contractversion="1",
        data=data if data is not None else {"n": event_id},
        time="2026-11-27T06:00:00+00:00",
        extensions=dict(extensions),
    )


def pending(event_id: str, **kwargs: Any) -> Pending:
    """`Pending.of(envelope(...))`."""
    return Pending.of(envelope(event_id, **kwargs))


class JournalContract:
    """Insert-if-absent on (source, id), increasing seqs, ordered reads, lookups."""

    def make_journal(self, tmp_path: Path, clock: ManualClock) -> Journal:
        """A fresh journal; the same tmp_path must reopen the same journal if it is durable."""
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    def journal(self, tmp_path: Path, clock: ManualClock) -> Iterator[Journal]:
        journal = self.make_journal(tmp_path, clock)
        yield journal
        journal.close()

    # -- appending -------------------------------------------------------------------------

    def test_empty_journal(self, journal: Journal) -> None:
        assert journal.head() == 0
        assert journal.read(0, 10) == ([], 0)
        assert journal.get("erp/plant-1000", "nope") is None
        assert journal.get_seq(0) is None
        assert journal.get_seq(1) is None

    def test_append_assigns_increasing_seqs(self, journal: Journal) -> None:
        first = journal.append([pending("a"), pending("b"), pending("c")])
        second = journal.append([pending("d")])
        third = journal.append([pending("e"), pending("f")])
        outcomes = first + second + third
        assert all(isinstance(o, Appended) and not o.duplicate for o in outcomes)
        seqs = [o.seq for o in outcomes]
        assert seqs == sorted(seqs) and len(set(seqs)) == 6 and seqs[0] >= 1
        assert journal.head() == seqs[-1]
        for event_id, seq in zip("abcdef", seqs, strict=True):
            entry = journal.get_seq(seq)
            assert entry is not None and entry.envelope.id == event_id and entry.seq == seq

    def test_empty_batch_appends_nothing(self, journal: Journal) -> None:
        assert journal.append([]) == []
        assert journal.head() == 0

    def test_recorded_at_comes_from_the_clock(self, journal: Journal, clock: ManualClock) -> None:
        [a] = journal.append([pending("a")])
        clock.advance(60)
        [b] = journal.append([pending("b")])
        assert journal.get_seq(a.seq).recorded_at == 1_800_000_000.0  # type: ignore[union-attr]
        assert journal.get_seq(b.seq).recorded_at == 1_800_000_060.0  # type: ignore[union-attr]

    def test_same_content_again_is_a_duplicate_with_the_original_seq(
        self, journal: Journal, clock: ManualClock
    ) -> None:
        [original] = journal.append([pending("a")])
        journal.append([pending("b")])
        assert journal.append([pending("a")]) == [Appended(original.seq, True)]
        clock.advance(MONTH)  # no time window: a month later is still the same event
        assert journal.append([pending("a")]) == [Appended(original.seq, True)]
        assert journal.head() == original.seq + 1
        entry = journal.get("erp/plant-1000", "a")
        assert entry is not None and entry.recorded_at == 1_800_000_000.0  # not re-recorded

    def test_different_content_conflicts_with_the_original_seq(
        self, journal: Journal, clock: ManualClock
    ) -> None:
        [original] = journal.append([pending("a", data={"qty": "5"})])
        clock.advance(MONTH)
        assert journal.append([pending("a", data={"qty": "6"})]) == [Conflicted(original.seq)]
        assert journal.append([pending("a", key="K2", data={"qty": "5"})]) == [
            Conflicted(original.seq)
        ]
        assert journal.head() == original.seq
        entry = journal.get("erp/plant-1000", "a")
        assert entry is not None and entry.envelope.data == {"qty": "5"}  # the first one stays

    def test_identity_is_source_and_id(self, journal: Journal) -> None:
        [a, b] = journal.append([pending("x", source="erp/a"), pending("x", source="erp/b")])
        assert isinstance(a, Appended) and isinstance(b, Appended)
        assert not a.duplicate and not b.duplicate and a.seq != b.seq
        assert journal.get("erp/a", "x").seq == a.seq  # type: ignore[union-attr]
        assert journal.get("erp/b", "x").seq == b.seq  # type: ignore[union-attr]

    def test_duplicate_within_one_batch(self, journal: Journal) -> None:
        outcomes = journal.append([pending("a"), pending("b"), pending("a")])
        assert isinstance(outcomes[0], Appended) and not outcomes[0].duplicate
        assert outcomes[2] == Appended(outcomes[0].seq, True)
        assert journal.head() == outcomes[1].seq
        entries, _ = journal.read(0, 10)
        assert [e.envelope.id for e in entries] == ["a", "b"]

    def test_conflict_within_one_batch(self, journal: Journal) -> None:
        outcomes = journal.append([pending("a", data={"v": 1}), pending("a", data={"v": 2})])
        assert isinstance(outcomes[0], Appended) and not outcomes[0].duplicate
        assert outcomes[1] == Conflicted(outcomes[0].seq)
        assert journal.get("erp/plant-1000", "a").envelope.data == {"v": 1}  # type: ignore[union-attr]
        assert journal.head() == outcomes[0].seq

    def test_mixed_batch_gives_per_item_outcomes(self, journal: Journal) -> None:
        [a] = journal.append([pending("a", data={"v": 1})])
        [b] = journal.append([pending("b")])
        outcomes = journal.append([
            pending("c"),
            pending("a", data={"v": 1}),   # duplicate across batches
            pending("d"),
            pending("a", data={"v": 2}),   # conflict across batches
            pending("c"),                  # duplicate within the batch
            pending("d", data={"v": 9}),   # conflict within the batch
            pending("b"),                  # duplicate across batches
            pending("e"),
        ])
        c, dup_a, d, conf_a, dup_c, conf_d, dup_b, e = outcomes
        assert isinstance(c, Appended) and not c.duplicate
        assert isinstance(d, Appended) and not d.duplicate
        assert isinstance(e, Appended) and not e.duplicate
        assert b.seq < c.seq < d.seq < e.seq
        assert dup_a == Appended(a.seq, True)
        assert conf_a == Conflicted(a.seq)
        assert dup_c == Appended(c.seq, True)
        assert conf_d == Conflicted(d.seq)
        assert dup_b == Appended(b.seq, True)
        assert journal.head() == e.seq
        entries, _ = journal.read(0, 100)
        assert [x.envelope.id for x in entries] == ["a", "b", "c", "d", "e"]

    def test_all_duplicates_batch_changes_nothing(self, journal: Journal) -> None:
        first = journal.append([pending("a"), pending("b")])
        again = journal.append([pending("a"), pending("b")])
        assert again == [Appended(o.seq, True) for o in first]  # type: ignore[union-attr]
        assert journal.head() == first[-1].seq

    def test_concurrent_appends_get_distinct_seqs(self, journal: Journal) -> None:
        results: dict[str, int] = {}
        lock = threading.Lock()

        def writer(name: str) -> None:
            for i in range(25):
                [out] = journal.append([pending(f"{name}-{i}")])
                assert isinstance(out, Appended)
                with lock:
                    results[f"{name}-{i}"] = out.seq

        threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(results.values())) == 100
        entries, _ = journal.read(0, 1000)
        assert {e.envelope.id: e.seq for e in entries} == results

    # -- reading ---------------------------------------------------------------------------

    def test_read_after_and_limit_in_seq_order(self, journal: Journal) -> None:
        outs = journal.append([pending(f"e{i}") for i in range(10)])
        seqs = [o.seq for o in outs]
        entries, last = journal.read(0, 4)
        assert [e.seq for e in entries] == seqs[:4] and last == seqs[3]
        entries, last = journal.read(last, 4)
        assert [e.seq for e in entries] == seqs[4:8] and last == seqs[7]
        entries, last = journal.read(last, 4)
        assert [e.seq for e in entries] == seqs[8:] and last == seqs[9]
        assert journal.read(last, 4) == ([], last)
        assert journal.read(seqs[-1] + 100, 4) == ([], seqs[-1] + 100)

    def test_read_with_type_filter_reports_last_scanned(self, journal: Journal) -> None:
        outs = journal.append([
            pending("r1", type_="production.order.released"),
            pending("c1", type_="production.goods.completed"),
            pending("r2", type_="production.order.released"),
            pending("t1", type_="inventory.transferred"),
            pending("r3", type_="production.order.released"),
        ])
        seqs = [o.seq for o in outs]
        entries, last = journal.read(0, 4, {"production.goods.completed", "inventory.transferred"})
        assert [e.envelope.id for e in entries] == ["c1", "t1"]
        assert last == seqs[3]  # four scanned, two matched
        entries, last = journal.read(0, 2, {"inventory.transferred"})
        assert entries == [] and last == seqs[1]  # nothing matched, the cursor still moves
        entries, last = journal.read(seqs[3], 10, {"inventory.transferred"})
        assert entries == [] and last == seqs[4]
        entries, _ = journal.read(0, 10, None)
        assert len(entries) == 5

    def test_get_and_get_seq_round_trip_the_envelope(self, journal: Journal) -> None:
        env = Envelope(
            id="ORD-1/released", source="erp/plant-1000", type="production.order.released",
            partitionkey="1000457", contractversion="1",
            data={"order_id": "1000457", "quantity": {"value": "12.500", "uom": "KG"},
                  "lines": [{"line": 10, "note": "ümlaut ✓"}], "flag": True, "none": None},
            time="2026-11-27T06:00:00+01:00", subject="order/1000457",
            datacontenttype="application/json", dataschema="urn:plantwire:contract:x:v1",
            extensions={"plant": "1000", "correlationid": "c-1", "attempt": 3, "urgent": False},
        )
        [out] = journal.append([Pending.of(env)])
        by_id = journal.get("erp/plant-1000", "ORD-1/released")
        by_seq = journal.get_seq(out.seq)
        assert by_id is not None and by_seq is not None
        assert by_id.envelope == env and by_seq.envelope == env
        assert by_id.seq == by_seq.seq == out.seq
        assert by_id.key == "1000457" and by_id.type == "production.order.released"
        assert by_id.envelope.canonical_bytes() == env.canonical_bytes()
        assert journal.get("erp/plant-1000", "ORD-2/released") is None
        assert journal.get("erp/other", "ORD-1/released") is None
        assert journal.get_seq(out.seq + 1) is None

    def test_head_follows_appends_not_duplicates(self, journal: Journal) -> None:
        [a] = journal.append([pending("a")])
        assert journal.head() == a.seq
        journal.append([pending("a"), pending("a", data={"other": 1})])
        assert journal.head() == a.seq
        [b] = journal.append([pending("b")])
        assert journal.head() == b.seq > a.seq

    def test_per_key_order_is_preserved(self, journal: Journal) -> None:
        sent: dict[str, list[str]] = {"A": [], "B": [], "C": []}
        for round_ in range(5):
            batch = []
            for key in ("B", "A", "C", "A"):
                event_id = f"{key}-{len(sent[key])}"
                sent[key].append(event_id)
                batch.append(pending(event_id, key=key))
            if round_ == 2:
                batch.append(pending("A-0"))  # a resend must not reorder anything
            journal.append(batch)
        entries, _ = journal.read(0, 1000)
        seen: dict[str, list[str]] = {"A": [], "B": [], "C": []}
        for e in entries:
            seen[e.key].append(e.envelope.id)
        assert seen == sent
        assert [e.seq for e in entries] == sorted(e.seq for e in entries)

    def test_large_batch_with_one_duplicate_at_the_end(self, journal: Journal) -> None:
        [first] = journal.append([pending("x-0")])
        outs = journal.append([pending(f"x-{i}") for i in range(1, 600)] + [pending("x-0")])
        assert outs[-1] == Appended(first.seq, True)
        new = [o.seq for o in outs[:-1]]
        assert all(isinstance(o, Appended) and not o.duplicate for o in outs[:-1])
        assert new == sorted(new) and len(set(new)) == 599 and new[0] > first.seq
        assert journal.head() == new[-1]

    # -- durability ------------------------------------------------------------------------

    def test_reopen_from_the_same_place_keeps_everything(
        self, tmp_path: Path, clock: ManualClock
    ) -> None:
        journal = self.make_journal(tmp_path, clock)
        outs = journal.append([pending(f"e{i}", key=f"K{i % 3}") for i in range(20)])
        before, _ = journal.read(0, 100)
        journal.close()

        clock.advance(MONTH)
        reopened = self.make_journal(tmp_path, clock)
        try:
            after, last = reopened.read(0, 100)
            assert after == before and last == outs[-1].seq
            assert reopened.head() == outs[-1].seq
            assert reopened.get("erp/plant-1000", "e7") == before[7]
            # dedup survives the restart, with no time window
            assert reopened.append([pending("e7", key="K1")]) == [Appended(outs[7].seq, True)]
            assert reopened.append([pending("e7", key="K2")]) == [Conflicted(outs[7].seq)]
            [new] = reopened.append([pending("e20")])
            assert isinstance(new, Appended) and new.seq > outs[-1].seq
        finally:
            reopened.close()
