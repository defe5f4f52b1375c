"""Ingest: validate events, append them to the journal with group commit, answer per event."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from plantwire.domain.catalog import Catalog
from plantwire.envelope import Appended, AppendOutcome, Pending
from plantwire.errors import InvalidEvent, Issue
from plantwire.ports import Journal
from plantwire.service.validation import validate_event


@dataclass(frozen=True)
class EventResult:
    """What happened to one event of a request."""

    index: int
    status: str  # accepted | duplicate | rejected | conflict
    source: str | None = None
    id: str | None = None
    seq: int | None = None
    issues: tuple[Issue, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Accepted now or before: durable in the journal."""
        return self.status in ("accepted", "duplicate")

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of one result."""
        out: dict[str, Any] = {"index": self.index, "status": self.status,
                               "source": self.source, "id": self.id}
        if self.ok:
            out["seq"] = self.seq
            out["duplicate"] = self.status == "duplicate"
        if self.status == "conflict":
            out["errors"] = [{"path": "$.id", "rule": "identity-conflict", "message":
                              f"source+id already journaled as #{self.seq} with different content"}]
        elif self.issues:
            out["errors"] = [i.as_dict() for i in self.issues]
        return out


def _ident(obj: Any) -> tuple[str | None, str | None]:
    if isinstance(obj, dict):
        src, eid = obj.get("source"), obj.get("id")
        return (src if isinstance(src, str) else None, eid if isinstance(eid, str) else None)
    return None, None


def _outcome(index: int, p: Pending, out: AppendOutcome) -> EventResult:
    src, eid = p.envelope.identity
    if isinstance(out, Appended):
        return EventResult(index, "duplicate" if out.duplicate else "accepted", src, eid, out.seq)
    return EventResult(index, "conflict", src, eid, out.seq)


class GroupCommitter:
    """Appends from many concurrent requests share one journal transaction and one fsync."""

    def __init__(self, journal: Journal, on_commit: Callable[[], None], max_rows: int = 5000) -> None:
        self._journal, self._on_commit, self._max = journal, on_commit, max_rows
        self._queue: deque[tuple[list[Pending], asyncio.Future[list[AppendOutcome]]]] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="journal-writer")
        self.commits = 0
        self.committed_rows = 0

    async def append(self, batch: list[Pending]) -> list[AppendOutcome]:
        """Durably append; returns when the group holding this batch has committed."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run())
        fut: asyncio.Future[list[AppendOutcome]] = loop.create_future()
        self._queue.append((batch, fut))
        assert self._wake is not None
        self._wake.set()
        return await fut

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                group = [self._queue.popleft()]
                rows = len(group[0][0])
                while self._queue and rows + len(self._queue[0][0]) <= self._max:
                    rows += len(self._queue[0][0])
                    group.append(self._queue.popleft())
                await self._commit(loop, group)

    async def _commit(self, loop: asyncio.AbstractEventLoop,
                      group: list[tuple[list[Pending], asyncio.Future[list[AppendOutcome]]]]) -> None:
        flat = [p for batch, _ in group for p in batch]
        try:
            outcomes = await loop.run_in_executor(self._pool, self._journal.append, flat)
        except Exception as exc:  # handed to every waiting request, which answers 503
            for _, fut in group:
                if not fut.done():
                    fut.set_exception(exc)
            return
        at = 0
        for batch, fut in group:
            if not fut.done():
                fut.set_result(outcomes[at : at + len(batch)])
            at += len(batch)
        self.commits += 1
        self.committed_rows += len(flat)
        self._on_commit()

    def close(self) -> None:
        """Stop the writer thread."""
        if self._task is not None:
            self._task.cancel()
        self._pool.shutdown(wait=True)


class Ingest:
    """Validates event objects against the catalog and journals the valid ones."""

    def __init__(self, journal: Journal, catalog: Catalog, on_commit: Callable[[], None]) -> None:
        self.journal, self.catalog, self._on_commit = journal, catalog, on_commit
        self.committer = GroupCommitter(journal, on_commit)
        self.counts: Counter[str] = Counter()

    def prepare(self, objs: Sequence[Any]) -> list[Pending | EventResult]:
        """Each object as a Pending envelope, or a rejected result with every issue."""
        out: list[Pending | EventResult] = []
        for index, obj in enumerate(objs):
            try:
                out.append(validate_event(obj, self.catalog))
            except InvalidEvent as bad:
                src, eid = _ident(obj)
                out.append(EventResult(index, "rejected", src, eid, None, tuple(bad.issues)))
        return out

    async def submit(self, objs: Sequence[Any]) -> list[EventResult]:
        """Validate and durably journal; one result per object, in order."""
        prepared = self.prepare(objs)
        pending = [p for p in prepared if isinstance(p, Pending)]
        outcomes = await self.committer.append(pending) if pending else []
        return self._merge(prepared, outcomes)

    def submit_sync(self, objs: Sequence[Any]) -> list[EventResult]:
        """The same as submit, for callers without an event loop (CLI, tests)."""
        prepared = self.prepare(objs)
        pending = [p for p in prepared if isinstance(p, Pending)]
        outcomes = self.journal.append(pending) if pending else []
        if pending:
            self._on_commit()
        return self._merge(prepared, outcomes)

    def _merge(self, prepared: list[Pending | EventResult],
               outcomes: list[AppendOutcome]) -> list[EventResult]:
        it = iter(outcomes)
        results = [p if isinstance(p, EventResult) else _outcome(i, p, next(it))
                   for i, p in enumerate(prepared)]
        self.counts.update(r.status for r in results)
        return results

    def close(self) -> None:
        """Stop the group committer."""
        self.committer.close()
