"""SQLite journal and state store (WAL), the embedded default.

The journal commits with ``synchronous=FULL``: an append that returned survives a power cut.
The state store uses ``synchronous=NORMAL``: a crash may roll back the last commits, but a
subscriber's position and its effects always roll back together, so events are delivered again
and applied exactly once. The stdlib driver is used directly: the group-commit path is hot and a
batched ``executemany`` on the driver is what the ingest benchmark compares against.
"""

from __future__ import annotations

import fcntl
import functools
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from plantwire.envelope import Appended, AppendOutcome, Conflicted, JournalEntry, Pending
from plantwire.errors import StorageUnavailable
from plantwire.journal.codec import add_exact, dump_value, entry_from_row, load_value
from plantwire.journal.sqlite_schema import JOURNAL, STATE, ensure
from plantwire.journal.sqlite_schema import JOURNAL_SCHEMA as JOURNAL_SCHEMA  # benchmarks/ingest.py
from plantwire.ports import Clock

INSERT = (
    "INSERT INTO journal (source, event_id, type, partition_key, recorded_at, digest, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, event_id) DO NOTHING"
)


def connect(path: Path, synchronous: str) -> sqlite3.Connection:
    """A connection in WAL mode with manual transactions."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class _PerThread:
    """One connection per thread, all closed together."""

    def __init__(self, path: Path, synchronous: str) -> None:
        self._path, self._sync = path, synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, self._sync)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


ROWS_PER_STATEMENT = 256


def _row(p: Pending, now: float) -> tuple[Any, ...]:
    return (p.source, p.id, p.type, p.partitionkey, now, p.digest, p.body)


def _insert_rows(conn: sqlite3.Connection, batch: Sequence[Pending], now: float) -> None:
    """INSERT the rows, many per statement: the same rows as executemany(INSERT, rows), but the
    driver releases and retakes the GIL once per statement, not once per row, and the GIL is
    contended here (the event loop validates the next requests while this thread writes)."""
    for at in range(0, len(batch), ROWS_PER_STATEMENT):
        chunk = batch[at : at + ROWS_PER_STATEMENT]
        params: list[Any] = []
        for p in chunk:
            params += (p.source, p.id, p.type, p.partitionkey, now, p.digest, p.body)
        conn.execute(_multi_insert(len(chunk)), params)


@functools.cache
def _multi_insert(n: int) -> str:
    head, _, tail = INSERT.partition(" VALUES (?, ?, ?, ?, ?, ?, ?)")
    return head + " VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * n) + tail


class SqliteJournal:
    """The journal in one SQLite file; one writer, any number of readers."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self._clock = clock
        self._writer = connect(path, "FULL")
        try:
            ensure(self._writer, JOURNAL, path)  # SchemaVersionError: a newer or older file
        except BaseException:
            self._writer.close()
            raise
        self._write_lock = threading.Lock()
        # several processes may append (serve --ingest-processes): they take turns on this lock,
        # which wakes the next writer at once, where SQLite's own busy handler sleeps and polls
        self._process_lock = path.with_name(path.name + ".lock").open("a+b")
        self._readers = _PerThread(path, "FULL")

    def append(self, batch: Sequence[Pending]) -> list[AppendOutcome]:
        """Insert-if-absent in one transaction and one fsync."""
        now = self._clock.now()
        with self._write_lock:
            fcntl.flock(self._process_lock, fcntl.LOCK_EX)
            try:
                return self._append_locked(batch, now)
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise StorageUnavailable(f"journal append failed: {exc}") from exc
            finally:
                fcntl.flock(self._process_lock, fcntl.LOCK_UN)

    def _append_locked(self, batch: Sequence[Pending], now: float) -> list[AppendOutcome]:
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        before = conn.total_changes
        _insert_rows(conn, batch, now)
        if conn.total_changes - before == len(batch):
            last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            conn.execute("COMMIT")
            first = last - len(batch) + 1
            return [Appended(first + i, False) for i in range(len(batch))]
        conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        out = [self._append_one(conn, p, _row(p, now)) for p in batch]
        conn.execute("COMMIT")
        return out

    @staticmethod
    def _append_one(conn: sqlite3.Connection, item: Pending, row: tuple[Any, ...]) -> AppendOutcome:
        found = conn.execute(INSERT + " RETURNING seq", row).fetchone()
        if found is not None:
            return Appended(found[0], False)
        seq, stored = conn.execute(
            "SELECT seq, digest FROM journal WHERE source = ? AND event_id = ?",
            (item.source, item.id),
        ).fetchone()
        return Appended(seq, True) if stored == item.digest else Conflicted(seq)

    def _rollback(self) -> None:
        if self._writer.in_transaction:
            self._writer.execute("ROLLBACK")

    def read(
        self, after: int, limit: int, types: Collection[str] | None = None
    ) -> tuple[list[JournalEntry], int]:
        """Entries after a sequence; parses only the types asked for."""
        rows = self._readers.get().execute(
            "SELECT seq, recorded_at, type, body FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        last = rows[-1][0] if rows else after
        return [entry_from_row(s, r, b) for s, r, t, b in rows if not types or t in types], last

    def get(self, source: str, event_id: str) -> JournalEntry | None:
        """Look up by identity."""
        row = self._readers.get().execute(
            "SELECT seq, recorded_at, body FROM journal WHERE source = ? AND event_id = ?",
            (source, event_id),
        ).fetchone()
        return entry_from_row(*row) if row else None

    def get_seq(self, seq: int) -> JournalEntry | None:
        """Look up by sequence."""
        row = self._readers.get().execute(
            "SELECT seq, recorded_at, body FROM journal WHERE seq = ?", (seq,)
        ).fetchone()
        return entry_from_row(*row) if row else None

    def head(self) -> int:
        """Highest sequence written."""
        row = self._readers.get().execute("SELECT max(seq) FROM journal").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        """Close the writer and every reader."""
        with self._write_lock:
            self._writer.close()
            self._process_lock.close()
        self._readers.close()


FLUSH_AT = 5000
"""Buffered state writes kept in memory at most, before they go to SQLite (same transaction)."""


class _SqliteTx:
    """State operations inside BEGIN IMMEDIATE ... COMMIT.

    Writes are buffered and flushed with executemany before a scan and at commit; reads see the
    buffer first. A delivery batch touches the same counters and balances many times, so this
    turns most of its statements into dictionary look-ups.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn
        self._writes: dict[tuple[str, str], bytes | None] = {}

    def get(self, ns: str, key: str) -> Any | None:
        if (ns, key) in self._writes:
            raw = self._writes[(ns, key)]
            return None if raw is None else load_value(raw)
        row = self._c.execute("SELECT value FROM kv WHERE ns = ? AND key = ?", (ns, key)).fetchone()
        return None if row is None else load_value(row[0])

    def put(self, ns: str, key: str, value: Any) -> None:
        self._writes[(ns, key)] = dump_value(value)
        if len(self._writes) >= FLUSH_AT:  # a long transaction (a full replay) must not grow without end
            self.flush()

    def delete(self, ns: str, key: str) -> None:
        self._writes[(ns, key)] = None
        if len(self._writes) >= FLUSH_AT:
            self.flush()

    def clear(self, ns: str) -> None:
        self.flush()
        self._c.execute("DELETE FROM kv WHERE ns = ?", (ns,))

    def add(self, ns: str, key: str, delta: Decimal | int) -> Decimal:
        value = add_exact(self.get(ns, key), delta)
        self.put(ns, key, value)
        return value

    def scan(
        self, ns: str, prefix: str = "", after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, Any]]:
        self.flush()
        sql = "SELECT key, value FROM kv WHERE ns = ? AND key >= ? AND substr(key, 1, ?) = ?"
        args: list[Any] = [ns, prefix, len(prefix), prefix]
        if after is not None:
            sql += " AND key > ?"
            args.append(after)
        sql += " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [(k, load_value(v)) for k, v in self._c.execute(sql, args)]

    def flush(self) -> None:
        """Write the buffered puts and deletes."""
        if not self._writes:
            return
        puts = [(ns, key, raw) for (ns, key), raw in self._writes.items() if raw is not None]
        gone = [(ns, key) for (ns, key), raw in self._writes.items() if raw is None]
        self._writes.clear()
        if puts:
            self._c.executemany(
                "INSERT INTO kv (ns, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value", puts)
        if gone:
            self._c.executemany("DELETE FROM kv WHERE ns = ? AND key = ?", gone)


class SqliteState:
    """Key-value state in one SQLite file, a connection per thread."""

    def __init__(self, path: Path) -> None:
        self._conns = _PerThread(path, "NORMAL")
        try:
            ensure(self._conns.get(), STATE, path)  # SchemaVersionError: a newer or older file
        except BaseException:
            self._conns.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTx]:
        """BEGIN IMMEDIATE; COMMIT on success, ROLLBACK on error."""
        conn = self._conns.get()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable(f"state store busy: {exc}") from exc
        tx = _SqliteTx(conn)
        try:
            yield tx
            tx.flush()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise StorageUnavailable(f"state commit failed: {exc}") from exc

    def close(self) -> None:
        """Close every connection."""
        self._conns.close()
