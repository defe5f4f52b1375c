"""Key-value state in PostgreSQL: SERIALIZABLE transactions from a connection pool.

Isolation is SERIALIZABLE, the same guarantee SQLite's single writer gives: the Dispatcher reads a
subscriber's cursor inside the transaction, compares it with where it started, and writes the new
position with the effects. Two processes that started from the same cursor cannot both commit:
the second fails with a serialization failure, raised here as ``StorageUnavailable`` (retryable),
and its effects roll back with it. Any read-then-write pattern of a flow or projection is covered
the same way, without each of them having to take row locks.

Values are JSON bytes (``codec.dump_value``; Decimals as exact strings), keys collate "C" so scans
run in byte order as in SQLite. Writes are buffered per transaction and sent as one set-based
statement before a scan and at commit, so a delivery batch touching the same counters many times
costs a few statements, not one per touch. Reads are remembered for the rest of the transaction,
and `prefetch` reads many keys in one statement.

Optimistic transactions (`optimistic()`, what delivery uses). A delivery batch reads hundreds of
rows and spends most of its time in handlers. Held open all that time, the transactions of several
workers always overlap, and PostgreSQL, which tracks what a SERIALIZABLE transaction read by page
and beyond 32 pages by whole table, fails one of each overlapping pair. So an optimistic
transaction reads before it begins: from the values this process last read (and wrote since) of
keys it reads (`_Known`, a bounded cache: only a hint) or with a plain read at once. Its database
transaction begins when it must (a scan after its own writes, a clear, or commit), and its first
statement checks, inside the SERIALIZABLE snapshot, that every value read so far is still the one
stored (by digest) and every scan still returns the same rows. If one is not, it fails as a
serialization failure does (retryable, nothing written) and the stale values are forgotten. A
transaction that passes saw exactly what it would have seen reading everything at that statement,
and PostgreSQL's checks cover all of its reads. One that began only to commit sends its check and
its writes in one round trip and commits in a second; if PostgreSQL fails it for a clash with a
concurrent transaction, only that is done again (the reads still hold, so the writes are still
right), not the work that computed them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from decimal import Decimal
from hashlib import sha256
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from plantwire.errors import StorageUnavailable
from plantwire.journal.codec import add_exact, dump_value, load_value
from plantwire.journal.postgres import PgTarget, check_revision, connection_options, storage_errors

COMMIT_TRIES = 5
_CLASH = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
Key = tuple[str, str]
Raw = bytes | None
ScanArgs = tuple[str, str, str | None, int | None]


class _Sql:
    """The statements, with the schema's table name filled in once."""

    def __init__(self, t: PgTarget) -> None:
        kv = t.table("kv")
        self.get = f"SELECT value FROM {kv} WHERE ns = %s AND key = %s"
        self.get_many = (
            f"SELECT ns, key, value FROM {kv} "
            "WHERE (ns, key) IN (SELECT * FROM unnest(%b::text[], %b::text[]))")
        self.changed = (
            f"SELECT u.ns, u.key FROM unnest(%b::text[], %b::text[], %b::bytea[]) AS u(ns, key, digest) "
            f"LEFT JOIN {kv} kv ON kv.ns = u.ns AND kv.key = u.key "
            "WHERE sha256(kv.value) IS DISTINCT FROM u.digest")
        self.put = (
            f"INSERT INTO {kv} (ns, key, value) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::bytea[]) "
            "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value")
        self.delete = (
            f"DELETE FROM {kv} WHERE (ns, key) IN (SELECT * FROM unnest(%b::text[], %b::text[]))")
        self.clear = f"DELETE FROM {kv} WHERE ns = %s"
        self.scan = (
            f"SELECT key, value FROM {kv} WHERE ns = %(ns)s AND key >= %(prefix)s "
            "AND starts_with(key, %(prefix)s) AND (%(after)s::text IS NULL OR key > %(after)s) "
            "ORDER BY key LIMIT %(limit)s")


class _Known:
    """What this process last read or committed per key: a hint for optimistic reads, never trusted
    (each use is checked when the transaction begins). Bounded: the oldest half goes when full."""

    def __init__(self, size: int = 100_000) -> None:
        self._values: dict[Key, Raw] = {}
        self._size = size
        self._lock = threading.Lock()

    def lookup(self, keys: Iterable[Key]) -> dict[Key, Raw]:
        with self._lock:
            return {k: self._values[k] for k in keys if k in self._values}

    def learn(self, items: Iterable[tuple[Key, Raw]]) -> None:
        with self._lock:
            for k, raw in items:
                self._values.pop(k, None)  # to the young end
                self._values[k] = raw
            if len(self._values) > self._size:
                for k in list(self._values)[: len(self._values) - self._size // 2]:
                    del self._values[k]

    def refresh(self, items: Iterable[tuple[Key, Raw]]) -> None:
        """New values of keys written, for those known already (a key only ever written, such as
        a record per event, would only crowd out the ones read again)."""
        with self._lock:
            for k, raw in items:
                if k in self._values:
                    self._values[k] = raw

    def forget(self, keys: Iterable[Key]) -> None:
        with self._lock:
            for k in keys:
                self._values.pop(k, None)


class _Stale(StorageUnavailable):
    """An optimistic read no longer holds: the transaction must be done again from the start."""


def _scan_params(args: ScanArgs) -> dict[str, Any]:
    ns, prefix, after, limit = args
    return {"ns": ns, "prefix": prefix, "after": after, "limit": limit}


def _columns(rows: Iterable[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as one list per column, for unnest of array parameters."""
    return [list(col) for col in zip(*rows, strict=True)]


class _PostgresTx:
    """State operations of one SERIALIZABLE transaction; writes buffered until needed, reads
    remembered (raw, so every `get` returns a fresh copy). An optimistic one reads before its
    database transaction begins and checks those reads first thing when it does."""

    def __init__(self, conn: psycopg.Connection[Any], sql: _Sql, known: _Known, optimistic: bool) -> None:
        self._c, self._sql, self._known = conn, sql, known
        self._writes: dict[Key, Raw] = {}
        self._written: set[Key] = set()
        self._seen: dict[Key, Raw] = {}
        self._assumed: dict[Key, Raw] = {}
        self._scans: list[tuple[ScanArgs, list[tuple[str, bytes]]]] = []
        self.begun = not optimistic
        if optimistic:
            conn.autocommit = True  # reads before `begin` are plain reads, outside any transaction

    # -- reads ---------------------------------------------------------------------------------

    def get(self, ns: str, key: str) -> Any | None:
        at = (ns, key)
        if at in self._writes:
            raw = self._writes[at]
        else:
            if at not in self._seen:
                self._read([at])
            raw = self._seen[at]
        return None if raw is None else load_value(raw)

    def prefetch(self, keys: Iterable[Key]) -> None:
        """Read these keys in one statement, so the `get`s that follow need no round trip."""
        self._read({k for k in keys if k not in self._seen and k not in self._writes})

    def _read(self, keys: Iterable[Key]) -> None:
        wanted = list(keys)
        if not self.begun:
            hinted = self._known.lookup(wanted)
            self._assumed.update(hinted)
            self._seen.update(hinted)
            wanted = [k for k in wanted if k not in hinted]
        if not wanted:
            return
        with storage_errors("state get"):
            if len(wanted) == 1:
                row = self._c.execute(self._sql.get, wanted[0]).fetchone()
                got = {wanted[0]: None if row is None else row[0]}
            else:
                got = dict.fromkeys(wanted)
                got.update(((ns, key), raw) for ns, key, raw in
                           self._c.execute(self._sql.get_many, _columns(wanted)).fetchall())
        self._seen.update(got)
        self._known.learn(got.items())
        if not self.begun:
            self._assumed.update(got)

    def scan(
        self, ns: str, prefix: str = "", after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, Any]]:
        args = (ns, prefix, after, limit)
        if self.begun or any(at[0] == ns for at in self._writes):
            self.begin()
            self.flush()
            rows = self._scan(args)
        else:
            rows = self._scan(args)
            self._scans.append((args, rows))
        self._seen.update(((ns, k), v) for k, v in rows)
        return [(k, load_value(v)) for k, v in rows]

    def _scan(self, args: ScanArgs) -> list[tuple[str, bytes]]:
        with storage_errors("state scan"):
            return self._c.execute(self._sql.scan, _scan_params(args)).fetchall()

    # -- writes --------------------------------------------------------------------------------

    def put(self, ns: str, key: str, value: Any) -> None:
        self._writes[(ns, key)] = dump_value(value)

    def delete(self, ns: str, key: str) -> None:
        self._writes[(ns, key)] = None

    def clear(self, ns: str) -> None:
        self.begin()
        self.flush()
        with storage_errors("state clear"):
            self._c.execute(self._sql.clear, (ns,))
        for at in [at for at in self._seen if at[0] == ns]:
            self._seen[at] = None

    def add(self, ns: str, key: str, delta: Decimal | int) -> Decimal:
        value = add_exact(self.get(ns, key), delta)
        self.put(ns, key, value)
        return value

    def flush(self) -> None:
        """Send the buffered puts and deletes, each as one statement."""
        if not self._writes:
            return
        self.begin()
        puts = [(ns, key, raw) for (ns, key), raw in self._writes.items() if raw is not None]
        gone = [(ns, key) for (ns, key), raw in self._writes.items() if raw is None]
        self._seen.update(self._writes)
        self._written.update(self._writes)
        self._writes.clear()
        with storage_errors("state write"):
            if puts:
                self._c.execute(self._sql.put, _columns(puts))
            if gone:
                self._c.execute(self._sql.delete, _columns(gone))

    # -- the database transaction --------------------------------------------------------------

    def begin(self) -> None:
        """Open the SERIALIZABLE transaction; its first statements check the optimistic reads."""
        if self.begun:
            return
        self._c.autocommit = False
        self.begun = True
        with storage_errors("state check"):
            stale = self._stale(self._check(), [(args, rows, self._scan(args)) for args, rows in self._scans])
        self._assumed.clear()
        self._scans.clear()
        self._give_up_if(stale)

    def _check(self) -> psycopg.Cursor[Any] | None:
        """Start the statement that finds the optimistic reads no longer holding what was read."""
        if not self._assumed:
            return None
        digests = [(ns, key, None if raw is None else sha256(raw).digest())
                   for (ns, key), raw in self._assumed.items()]
        return self._c.execute(self._sql.changed, _columns(digests))

    @staticmethod
    def _stale(check: psycopg.Cursor[Any] | None,
               scans: Iterable[tuple[ScanArgs, list[tuple[str, bytes]], Any]]) -> set[Key]:
        stale = {(ns, key) for ns, key in check.fetchall()} if check is not None else set()
        for args, then, now in scans:
            rows = now if isinstance(now, list) else now.fetchall()
            if rows != then:
                stale.update((args[0], k) for k, _ in [*then, *rows])
        return stale

    def _give_up_if(self, stale: set[Key]) -> None:
        if stale:
            self._known.forget(stale)
            raise _Stale(f"state changed since read ({len(stale)} keys, e.g. {sorted(stale)[0]}): "
                         "try again") from pg_errors.SerializationFailure("optimistic read out of date")

    def commit(self) -> None:
        """Check, write and commit (an optimistic transaction that read nothing has nothing to do)."""
        if self.begun:
            self.flush()
            with storage_errors("state commit"):
                self._c.commit()
        elif self._writes or self._assumed or self._scans:
            self._commit_at_once()
        self._known.refresh((k, self._seen[k]) for k in self._written)

    def _commit_at_once(self) -> None:
        """All reads were optimistic: check them, write and commit in two round trips. A clash with
        a concurrent transaction (PostgreSQL's serialization failure) redoes only this, not the
        work that computed the writes: if the reads still hold, the writes are still right."""
        for attempt in range(1, COMMIT_TRIES + 1):
            try:
                self._check_write_commit()
                break
            except _Stale:
                raise
            except StorageUnavailable as exc:
                _quietly_rollback(self._c)
                if not isinstance(exc.__cause__, _CLASH) or attempt == COMMIT_TRIES:
                    raise
                time.sleep(random.uniform(0, 0.002 * attempt))
        self.begun = True
        self._seen.update(self._writes)
        self._written.update(self._writes)
        self._writes.clear()

    def _check_write_commit(self) -> None:
        puts = [(ns, key, raw) for (ns, key), raw in self._writes.items() if raw is not None]
        gone = [(ns, key) for (ns, key), raw in self._writes.items() if raw is None]
        self._c.autocommit = False
        with storage_errors("state commit"):
            with self._c.pipeline():
                check = self._check()
                scans = [(args, rows, self._c.execute(self._sql.scan, _scan_params(args)))
                         for args, rows in self._scans]
                if puts:
                    self._c.execute(self._sql.put, _columns(puts))
                if gone:
                    self._c.execute(self._sql.delete, _columns(gone))
            self._give_up_if(self._stale(check, scans))
            self._c.commit()

    def forget_writes(self) -> None:
        """After a failure: whether what this transaction wrote was committed is not known here.
        (What it read stays a hint: hints are checked before use.)"""
        self._known.forget([*self._written, *self._writes])


class PostgresState:
    """Key-value state in one PostgreSQL schema; each transaction takes a pooled connection."""

    def __init__(self, target: PgTarget, max_connections: int = 16) -> None:
        self._sql = _Sql(target)
        self._known = _Known()
        with target.connect() as conn:
            check_revision(conn, target)
        with storage_errors("open"):
            self._pool = ConnectionPool(
                target.conninfo, min_size=1, max_size=max_connections, open=False, name="pw-state",
                kwargs={"autocommit": False, **connection_options()}, configure=_serializable)
            self._pool.open(wait=True, timeout=10.0)

    def transaction(self) -> AbstractContextManager[_PostgresTx]:
        """SERIALIZABLE; COMMIT on success, ROLLBACK on error; conflicts raise StorageUnavailable."""
        return self._transaction(optimistic=False)

    def optimistic(self) -> OptimisticState:
        """The same store, with transactions that read before they begin (see the module docstring)."""
        return OptimisticState(self)

    @contextmanager
    def _transaction(self, optimistic: bool) -> Iterator[_PostgresTx]:
        with storage_errors("state transaction"):
            conn = self._pool.getconn()
        try:
            tx = _PostgresTx(conn, self._sql, self._known, optimistic)
            try:
                yield tx
                tx.commit()
            except BaseException:
                tx.forget_writes()
                _quietly_rollback(conn)
                raise
        finally:
            self._give_back(conn)

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        broken = conn.broken or conn.closed
        if not broken and conn.autocommit:
            conn.autocommit = False  # as the pool hands it out
        self._pool.putconn(conn)  # the pool drops a broken connection and opens a new one
        if broken:
            self._pool.check()  # after a server restart the idle ones are dead too

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()


class OptimisticState:
    """A view of a `PostgresState` whose transactions read optimistically (delivery's)."""

    def __init__(self, store: PostgresState) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[_PostgresTx]:
        """Like `PostgresState.transaction`, but open in the database only to check, write, commit."""
        return self.store._transaction(optimistic=True)

    def optimistic(self) -> OptimisticState:
        """Itself."""
        return self

    def close(self) -> None:
        """Close the store it views."""
        self.store.close()


def _serializable(conn: psycopg.Connection[Any]) -> None:
    conn.isolation_level = IsolationLevel.SERIALIZABLE


def _quietly_rollback(conn: psycopg.Connection[Any]) -> None:
    """Roll back after a failure; a connection that broke meanwhile has nothing left to undo."""
    if not (conn.broken or conn.closed):
        # a connection that dies during the rollback needs none: the server drops the transaction
        with suppress(psycopg.OperationalError):
            conn.rollback()


__all__ = ["OptimisticState", "PostgresState"]
