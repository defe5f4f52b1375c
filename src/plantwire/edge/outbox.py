"""The edge outbox: one SQLite file (WAL, synchronous=FULL) that holds every event until the hub has it.

Rows move pending (0) -> forwarded (1, sent, no answer yet) -> acknowledged (2, the hub journaled it,
with its seq) or failed (3, the hub refused it, with the reason). Nothing leaves the outbox unless the
hub answered for it, and acknowledged rows are pruned only after the retention period (or, under
disk pressure, before a write would be refused). A full disk, real (SQLITE_FULL) or the configured
``max_outbox_bytes`` (enforced by SQLite's ``max_page_count``, the same error path), refuses the
write with OutboxFull and rolls back: the file is never left half-written.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantwire.edge.queue import choose_batch
from plantwire.envelope import Pending
from plantwire.errors import StorageUnavailable
from plantwire.journal.sqlite_schema import OUTBOX, ensure

PENDING, FORWARDED, ACKNOWLEDGED, FAILED = 0, 1, 2, 3
STATE_NAMES = {PENDING: "pending", FORWARDED: "forwarded", ACKNOWLEDGED: "acknowledged",
               FAILED: "failed"}
INSERT = ("INSERT INTO outbox (source, event_id, type, pkey, priority, accepted_at, digest, body) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, event_id) DO NOTHING")
ROW_COLUMNS = ("seq, source, event_id, type, pkey, priority, state, accepted_at, forwarded_at, "
               "done_at, attempts, hub_seq, reason")


class OutboxFull(StorageUnavailable):
    """The outbox cannot take more events: the disk (or the configured size) is full.

    Retryable: intake resumes once the hub link drains the backlog or space is freed.
    """


@dataclass(frozen=True, slots=True)
class Stored:
    """What became of one event handed to the outbox: its outbox seq and accepted|duplicate|conflict."""

    seq: int
    status: str


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """A WAL connection with manual transactions; synchronous=FULL so a commit survives a power cut."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=30.0)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def is_full(exc: sqlite3.Error) -> bool:
    """True for SQLITE_FULL: "database or disk is full" (also what max_page_count raises)."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "is full" in str(exc)


class Outbox:
    """The durable queue of the edge; thread-safe (one writer connection behind a lock)."""

    def __init__(self, path: Path, max_bytes: int | None = None, min_free_bytes: int = 0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.min_free_bytes = path, min_free_bytes
        self._conn = connect(path)
        try:
            ensure(self._conn, OUTBOX, path)  # SchemaVersionError: a newer or older file
        except BaseException:
            self._conn.close()
            raise
        if max_bytes is not None:
            page = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
            self._conn.execute(f"PRAGMA max_page_count={max(1, max_bytes // page)}")
        self._lock = threading.Lock()

    # -- intake ---------------------------------------------------------------------------------
    def store(self, batch: Sequence[Pending], priorities: Sequence[int], now: float) -> list[Stored]:
        """Insert-if-absent on (source, id) in one fsync'd transaction; OutboxFull when out of space."""
        if self.min_free_bytes and shutil.disk_usage(self.path.parent).free < self.min_free_bytes:
            raise OutboxFull(f"less than {self.min_free_bytes} bytes free on {self.path.parent}; "
                             "intake is stopped until space is freed")
        rows = [(p.source, p.id, p.type, p.partitionkey, prio,
                 now, p.digest, p.body) for p, prio in zip(batch, priorities, strict=True)]
        try:
            done: list[Stored] = self._write(lambda c: self._insert(c, batch, rows))
            return done
        except OutboxFull:
            if not self.prune(older_than=now + 1, limit=max(10_000, 4 * len(rows))):
                raise
            again: list[Stored] = self._write(lambda c: self._insert(c, batch, rows))  # room was made
            return again

    @staticmethod
    def _insert(conn: sqlite3.Connection, batch: Sequence[Pending], rows: list[tuple[Any, ...]]
                ) -> list[Stored]:
        before_max = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]
        before = conn.total_changes
        conn.executemany(INSERT, rows)
        if conn.total_changes - before == len(rows):
            last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            return [Stored(last - len(rows) + 1 + i, "accepted") for i in range(len(rows))]
        out, seen = [], set()
        for p in batch:
            seq, digest = conn.execute("SELECT seq, digest FROM outbox WHERE source = ? AND event_id = ?",
                                       p.identity).fetchone()
            if seq > before_max and seq not in seen:
                status = "accepted"
            else:
                status = "duplicate" if bytes(digest) == p.digest else "conflict"
            seen.add(seq)
            out.append(Stored(seq, status))
        return out

    def _write(self, work: Any) -> Any:
        """Run work(conn) in one IMMEDIATE transaction; SQLite errors become our error tree."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                result = work(conn)
                conn.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if is_full(exc):
                    raise OutboxFull(f"the outbox is full ({exc}); intake is stopped until the "
                                     "backlog drains to the hub or space is freed") from exc
                raise StorageUnavailable(f"outbox write failed: {exc}") from exc

    # -- forwarding -----------------------------------------------------------------------------
    def next_batch(self, limit: int) -> list[tuple[int, bytes]]:
        """Up to `limit` (seq, body) to send now: by priority, never ahead of an older one of its key."""
        with self._lock:
            seqs = choose_batch(self._conn, limit)
            if not seqs:
                return []
            marks = ",".join("?" * len(seqs))
            bodies = dict(self._conn.execute(f"SELECT seq, body FROM outbox WHERE seq IN ({marks})", seqs))
        return [(s, bytes(bodies[s])) for s in seqs]

    def mark_forwarded(self, seqs: Sequence[int], now: float) -> None:
        """Record that these are on their way to the hub (answer unknown until it replies)."""
        self._write(lambda c: c.executemany(
            "UPDATE outbox SET state = 1, forwarded_at = ?, attempts = attempts + 1 "
            "WHERE seq = ? AND state < 2", [(now, s) for s in seqs]))

    def unmark_forwarded(self, seqs: Sequence[int]) -> None:
        """The request never reached the hub (connection refused): they are plainly pending again."""
        self._write(lambda c: c.executemany("UPDATE outbox SET state = 0 WHERE seq = ? AND state = 1",
                                            [(s,) for s in seqs]))

    def settle(self, acked: Sequence[tuple[int, int | None]], failed: Sequence[tuple[int, str]],
               now: float) -> None:
        """Acknowledged (seq, hub seq) and failed-at-hub (seq, reason) rows, in one transaction."""
        def work(c: sqlite3.Connection) -> None:
            c.executemany("UPDATE outbox SET state = 2, hub_seq = ?, done_at = ?, reason = NULL "
                          "WHERE seq = ?", [(h, now, s) for s, h in acked])
            c.executemany("UPDATE outbox SET state = 3, reason = ?, done_at = ? WHERE seq = ?",
                          [(r, now, s) for s, r in failed])
        self._write(work)

    def prune(self, older_than: float, limit: int = 50_000) -> int:
        """Delete up to `limit` acknowledged rows settled before `older_than`; how many went."""
        def work(c: sqlite3.Connection) -> int:
            cur = c.execute("DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE state = 2 "
                            "AND done_at < ? LIMIT ?)", (older_than, limit))
            return int(cur.rowcount)
        try:
            return int(self._write(work))
        except OutboxFull:
            return 0

    # -- bookkeeping ----------------------------------------------------------------------------
    def put_meta(self, values: dict[str, bytes]) -> None:
        """Agent state (link, alarms, heartbeat) for `plantwire edge status`, in one transaction."""
        self._write(lambda c: c.executemany(
            "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = "
            "excluded.value", list(values.items())))

    def reader(self) -> sqlite3.Connection:
        """A separate read connection (the caller closes it)."""
        return connect(self.path)

    def close(self) -> None:
        """Close the writer connection."""
        with self._lock:
            self._conn.close()
