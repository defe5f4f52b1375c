"""Ingest: validate events, append them to the journal with group commit, answer per event."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from plantwire.domain.catalog import Catalog
from plantwire.envelope import Appended, AppendOutcome, Pending
from plantwire.errors import InvalidEvent, Issue
from plantwire.ports import Journal
from plantwire.service.fastpath import read_body
from plantwire.service.validation import validate_event


@dataclass(slots=True)
class EventResult:
    """What happened to one event of a request (one per event ingested: slotted, not frozen,
    for speed; treat it as immutable)."""

    index: int
    status: str  # accepted | duplicate | held (for review) | rejected | conflict
    source: str | None = None
    id: str | None = None
    seq: int | None = None
    issues: tuple[Issue, ...] = field(default=())
    warnings: tuple[Issue, ...] = field(default=())
    review: str | None = None  # set when a check held the event for review instead of journaling it

    @property
    def ok(self) -> bool:
        """Durable: in the journal (accepted now or before) or in the review queue (held)."""
        return self.status in ("accepted", "duplicate", "held")

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of one result."""
        if self.status == "accepted" and not self.warnings:  # the common case, built at once
            return {"index": self.index, "status": "accepted", "source": self.source, "id": self.id,
                    "seq": self.seq, "duplicate": False}
        out: dict[str, Any] = {"index": self.index, "status": self.status,
                               "source": self.source, "id": self.id}
        if self.status in ("accepted", "duplicate"):
            out["seq"] = self.seq
            out["duplicate"] = self.status == "duplicate"
        if self.review is not None:
            out["review"] = self.review
            out["held"] = [i.as_dict() for i in self.issues]
        if self.warnings:
            out["warnings"] = [i.as_dict() for i in self.warnings]
        if self.status == "conflict":
            out["errors"] = [{"path": "$.id", "rule": "identity-conflict", "message":
                              f"source+id already journaled as #{self.seq} with different content"}]
        elif self.issues and self.review is None:
            out["errors"] = [i.as_dict() for i in self.issues]
        return out


def _ident(obj: Any) -> tuple[str | None, str | None]:
    if isinstance(obj, dict):
        src, eid = obj.get("source"), obj.get("id")
        return (src if isinstance(src, str) else None, eid if isinstance(eid, str) else None)
    return None, None


def _outcome(index: int, p: Pending, out: AppendOutcome, warnings: tuple[Issue, ...] = ()) -> EventResult:
    if type(out) is Appended:
        return EventResult(index, "duplicate" if out.duplicate else "accepted", p.source, p.id, out.seq,
                           (), warnings)
    return EventResult(index, "conflict", p.source, p.id, out.seq)


class Finding(Protocol):
    """An issue a check found, with what to do about it: reject, quarantine or warn."""

    @property
    def severity(self) -> str: ...

    @property
    def issue(self) -> Issue: ...


Check = Callable[[Pending], Sequence[Finding]]
"""Runs after contract validation, before the journal; returns nothing when the event is fine.
It reads `pending.envelope` only when it needs the data (on the hot path that parses the body)."""

Hold = Callable[[Pending, Sequence[Issue]], str]
"""Keeps an event a check quarantined (durably, for review) and returns its review id."""


@dataclass(frozen=True)
class _Warned:
    """A valid event that passed the checks with warnings, on its way to the journal."""

    pending: Pending
    warnings: tuple[Issue, ...]


START_AT_ONCE = 100
"""A request with this many events starts a commit at once; fewer wait for the loop's turn."""


class GroupCommitter:
    """Appends from many concurrent requests share one journal transaction and one fsync.

    While the writer is idle, a batch starts a commit at once, and single events start one at the
    end of the event loop's turn (with the others read in that turn); appends that arrive while a
    commit runs go together in the next one. So a commit never waits for requests still being
    validated, and validation overlaps the commit before it (its fsync, and on a second core its
    inserts: SQLite releases the GIL while it works)."""

    def __init__(self, journal: Journal, on_commit: Callable[[], None], max_rows: int = 5000) -> None:
        self._journal, self._on_commit, self._max = journal, on_commit, max_rows
        self._queue: deque[tuple[list[Pending], asyncio.Future[list[AppendOutcome]]]] = deque()
        self._busy = self._kicking = False
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="journal-writer")
        self.commits = 0
        self.committed_rows = 0

    async def append(self, batch: list[Pending]) -> list[AppendOutcome]:
        """Durably append; returns when the group holding this batch has committed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[AppendOutcome]] = loop.create_future()
        self._queue.append((batch, fut))
        if self._busy:
            pass
        elif len(batch) >= START_AT_ONCE:
            self._start(loop)
        elif not self._kicking:  # single events: first gather what this loop turn has read
            self._kicking = True
            loop.call_soon(self._kick, loop)
        return await fut

    def _kick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._kicking = False
        if self._queue and not self._busy:
            self._start(loop)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        group = [self._queue.popleft()]
        rows = len(group[0][0])
        while self._queue and rows + len(self._queue[0][0]) <= self._max:
            rows += len(self._queue[0][0])
            group.append(self._queue.popleft())
        flat = [p for batch, _ in group for p in batch]
        self._busy = True
        done = self._pool.submit(self._journal.append, flat)
        done.add_done_callback(lambda f: loop.call_soon_threadsafe(self._finish, loop, group, f))

    def _finish(self, loop: asyncio.AbstractEventLoop,
                group: list[tuple[list[Pending], asyncio.Future[list[AppendOutcome]]]],
                done: Future[list[AppendOutcome]]) -> None:
        self._busy = False
        exc = done.exception()
        if exc is not None:  # handed to every waiting request, which answers 503
            for _, fut in group:
                if not fut.done():
                    fut.set_exception(exc)
        else:
            outcomes, at = done.result(), 0
            for batch, fut in group:
                if not fut.done():
                    fut.set_result(outcomes[at : at + len(batch)])
                at += len(batch)
            self.commits += 1
            self.committed_rows += at
            self._on_commit()
        if self._queue:
            self._start(loop)

    def close(self) -> None:
        """Stop the writer thread."""
        self._pool.shutdown(wait=True)


class Ingest:
    """Validates event objects against the catalog and journals the valid ones."""

    def __init__(self, journal: Journal, catalog: Catalog, on_commit: Callable[[], None],
                 checks: Sequence[Check] = (), hold: Hold | None = None) -> None:
        self.journal, self.catalog, self._on_commit = journal, catalog, on_commit
        self.committer = GroupCommitter(journal, on_commit)
        self.counts: Counter[str] = Counter()
        self.checks: list[Check] = list(checks)
        """Data-quality and ownership checks; empty (the default) costs nothing per event."""
        self.hold: Hold | None = hold
        """Where quarantined events go; without it a quarantine finding rejects the event."""

    def read(self, content_type: str | None, headers: Mapping[str, str], body: bytes,
             max_batch: int) -> list[Any]:
        """A request body's events for `submit`: those the hot path decoded as Pendings, the
        others as parsed objects (raises RequestRejected when the body cannot be read)."""
        return read_body(self.catalog, content_type, headers, body, max_batch)

    def prepare(self, objs: Sequence[Any]) -> list[Pending | _Warned | EventResult]:
        """Each object as a Pending envelope (a Pending stays one), or a rejected result."""
        out: list[Pending | _Warned | EventResult] = []
        for index, obj in enumerate(objs):
            if type(obj) is Pending:
                out.append(obj)
                continue
            try:
                out.append(validate_event(obj, self.catalog))
            except InvalidEvent as bad:
                src, eid = _ident(obj)
                out.append(EventResult(index, "rejected", src, eid, None, tuple(bad.issues)))
        if self.checks:
            return [self._check(i, p) if isinstance(p, Pending) else p for i, p in enumerate(out)]
        return out

    def _check(self, index: int, pending: Pending) -> Pending | _Warned | EventResult:
        """Run the checks on a valid event: reject beats quarantine beats warn."""
        found = [f for check in self.checks for f in check(pending)]
        if not found:
            return pending
        src, eid = pending.identity
        by: dict[str, list[Issue]] = {"reject": [], "quarantine": [], "warn": []}
        for f in found:
            by.get(f.severity, by["reject"]).append(f.issue)
        if by["reject"] or (by["quarantine"] and self.hold is None):
            return EventResult(index, "rejected", src, eid, None, tuple(by["reject"] + by["quarantine"]))
        if by["quarantine"] and self.hold is not None:
            review = self.hold(pending, by["quarantine"] + by["warn"])
            return EventResult(index, "held", src, eid, None, tuple(by["quarantine"]),
                               tuple(by["warn"]), review)
        return _Warned(pending, tuple(by["warn"]))

    def _journal_ready(self, prepared: list[Pending | _Warned | EventResult]) -> list[Pending]:
        if not self.checks:
            return [p for p in prepared if isinstance(p, Pending)]
        return [p if isinstance(p, Pending) else p.pending
                for p in prepared if not isinstance(p, EventResult)]

    async def submit(self, objs: Sequence[Any]) -> list[EventResult]:
        """Validate and durably journal; one result per object, in order."""
        prepared = self.prepare(objs)
        pending = self._journal_ready(prepared)
        outcomes = await self.committer.append(pending) if pending else []
        return self._merge(prepared, outcomes)

    def submit_sync(self, objs: Sequence[Any]) -> list[EventResult]:
        """The same as submit, for callers without an event loop (CLI, tests)."""
        prepared = self.prepare(objs)
        pending = self._journal_ready(prepared)
        outcomes = self.journal.append(pending) if pending else []
        if pending:
            self._on_commit()
        return self._merge(prepared, outcomes)

    def _merge(self, prepared: list[Pending | _Warned | EventResult],
               outcomes: list[AppendOutcome]) -> list[EventResult]:
        it = iter(outcomes)
        if not self.checks:
            results = [p if isinstance(p, EventResult) else _outcome(i, p, next(it))  # type: ignore[arg-type]
                       for i, p in enumerate(prepared)]
        else:
            results = [p if isinstance(p, EventResult)
                       else _outcome(i, p, next(it)) if isinstance(p, Pending)
                       else _outcome(i, p.pending, next(it), p.warnings)
                       for i, p in enumerate(prepared)]
        self.counts.update(r.status for r in results)
        return results

    def close(self) -> None:
        """Stop the group committer."""
        self.committer.close()
