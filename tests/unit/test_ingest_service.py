"""Ingest: validation, per-event results in order, and group commit onto a SQLite journal."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from plantwire.clocks import ManualClock
from plantwire.domain.catalog import CATALOG
from plantwire.envelope import AppendOutcome, Pending
from plantwire.errors import StorageUnavailable
from plantwire.journal.sqlite import SqliteJournal
from plantwire.service.ingest import EventResult, Ingest
from plantwire.simulators.scenario import plant_day


class CountingJournal:
    """A journal wrapper that counts appends and can be made to fail."""

    def __init__(self, inner: SqliteJournal) -> None:
        self.inner = inner
        self.appends = 0
        self.fail: Exception | None = None

    def append(self, batch: Sequence[Pending]) -> list[AppendOutcome]:
        self.appends += 1
        if self.fail is not None:
            raise self.fail
        return self.inner.append(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[CountingJournal]:
    inner = SqliteJournal(tmp_path / "journal.db", ManualClock())
    yield CountingJournal(inner)
    inner.close()


@pytest.fixture
def commits() -> list[int]:
    return []


@pytest.fixture
def ingest(journal: CountingJournal, commits: list[int]) -> Iterator[Ingest]:
    service = Ingest(journal, CATALOG, lambda: commits.append(1))  # type: ignore[arg-type]
    yield service
    service.close()


def events(n: int) -> list[dict[str, Any]]:
    day = list(plant_day(orders=n // 9 + 2, seed=5))
    assert len(day) >= n
    return day[:n]


def mixed() -> list[dict[str, Any]]:
    """accepted, rejected, duplicate (in the batch), conflict, accepted."""
    a, c = events(2)
    bad = copy.deepcopy(a) | {"id": "broken", "specversion": "0.3"}
    changed = copy.deepcopy(a)
    changed["data"]["supplier_id"] = "SUP-999"
    return [a, bad, copy.deepcopy(a), changed, c]


def check_mixed(results: list[EventResult]) -> None:
    assert [r.status for r in results] == ["accepted", "rejected", "duplicate", "conflict",
                                           "accepted"]
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    accepted, rejected, duplicate, conflict, last = results
    assert accepted.seq is not None and last.seq is not None and accepted.seq < last.seq
    assert duplicate.seq == conflict.seq == accepted.seq
    assert rejected.seq is None and rejected.id == "broken"
    assert [(i.path, i.rule) for i in rejected.issues] == [
        ("$.specversion", "unsupported-specversion")]
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert conflict.as_dict()["errors"][0]["rule"] == "identity-conflict"
    assert duplicate.as_dict()["duplicate"] is True and accepted.as_dict()["duplicate"] is False


def test_submit_sync_mixed_batch(
    ingest: Ingest, journal: CountingJournal, commits: list[int]
) -> None:
    results = ingest.submit_sync(mixed())
    check_mixed(results)
    assert journal.head() == 2 and journal.appends == 1 and len(commits) == 1
    entries, _ = journal.read(0, 10)
    assert [e.seq for e in entries] == [results[0].seq, results[4].seq]


def test_submit_sync_resend_is_a_duplicate_with_the_original_seq(ingest: Ingest) -> None:
    first = ingest.submit_sync(events(3))
    again = ingest.submit_sync(events(3))
    assert [r.status for r in again] == ["duplicate"] * 3
    assert [r.seq for r in again] == [r.seq for r in first]


def test_submit_sync_all_rejected_appends_nothing(
    ingest: Ingest, journal: CountingJournal, commits: list[int]
) -> None:
    results = ingest.submit_sync([{"specversion": "1.0"}, "not an event"])
    assert [r.status for r in results] == ["rejected", "rejected"]
    assert journal.appends == 0 and commits == [] and journal.head() == 0


def test_submit_mixed_batch_through_the_group_committer(
    ingest: Ingest, journal: CountingJournal
) -> None:
    check_mixed(asyncio.run(ingest.submit(mixed())))
    assert journal.head() == 2


def test_concurrent_submits_get_distinct_seqs_and_share_commits(
    ingest: Ingest, journal: CountingJournal, commits: list[int]
) -> None:
    objs = events(200)

    async def main() -> list[list[EventResult]]:
        return await asyncio.gather(*(ingest.submit([obj]) for obj in objs))

    results = [r for [r] in asyncio.run(main())]
    assert [r.status for r in results] == ["accepted"] * 200
    seqs = [r.seq for r in results]
    assert len(set(seqs)) == 200
    entries, _ = journal.read(0, 1000)
    assert {e.seq: (e.envelope.source, e.envelope.id) for e in entries} == {
        r.seq: (r.source, r.id) for r in results}
    assert journal.head() == 200
    assert journal.appends < 200 and len(commits) == journal.appends  # grouped


def test_concurrent_resends_of_one_event_are_accepted_once(
    ingest: Ingest, journal: CountingJournal
) -> None:
    [one] = events(1)

    async def main() -> list[list[EventResult]]:
        return await asyncio.gather(*(ingest.submit([copy.deepcopy(one)]) for _ in range(50)))

    results = [r for [r] in asyncio.run(main())]
    assert sorted(r.status for r in results) == ["accepted"] + ["duplicate"] * 49
    assert {r.seq for r in results} == {1} and journal.head() == 1


def test_a_journal_failure_reaches_every_waiting_request(
    ingest: Ingest, journal: CountingJournal, commits: list[int]
) -> None:
    journal.fail = StorageUnavailable("disk full")
    objs = events(5)

    async def main() -> list[Any]:
        return await asyncio.gather(*(ingest.submit([obj]) for obj in objs),
                                    return_exceptions=True)

    outcomes = asyncio.run(main())
    assert all(isinstance(o, StorageUnavailable) for o in outcomes)
    assert commits == [] and journal.head() == 0
    journal.fail = None
    assert [r.status for r in asyncio.run(ingest.submit(objs))] == ["accepted"] * 5


def test_submit_with_only_rejected_events_skips_the_journal(
    ingest: Ingest, journal: CountingJournal
) -> None:
    results = asyncio.run(ingest.submit([{}, []]))
    assert [r.status for r in results] == ["rejected", "rejected"]
    assert journal.appends == 0
