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
costs a few statements, not one per touch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg_pool import ConnectionPool

from plantwire.journal.codec import add_exact, dump_value, load_value
from plantwire.journal.postgres import PgTarget, check_revision, connection_options, storage_errors


class _Sql:
    """The statements, with the schema's table name filled in once."""

    def __init__(self, t: PgTarget) -> None:
        kv = t.table("kv")
        self.get = f"SELECT value FROM {kv} WHERE ns = %s AND key = %s"
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


class _PostgresTx:
    """State operations inside one SERIALIZABLE transaction; writes buffered until needed."""

    def __init__(self, conn: psycopg.Connection[Any], sql: _Sql) -> None:
        self._c, self._sql = conn, sql
        self._writes: dict[tuple[str, str], bytes | None] = {}

    def get(self, ns: str, key: str) -> Any | None:
        if (ns, key) in self._writes:
            raw = self._writes[(ns, key)]
            return None if raw is None else load_value(raw)
        with storage_errors("state get"):
            row = self._c.execute(self._sql.get, (ns, key)).fetchone()
        return None if row is None else load_value(row[0])

    def put(self, ns: str, key: str, value: Any) -> None:
        self._writes[(ns, key)] = dump_value(value)

    def delete(self, ns: str, key: str) -> None:
        self._writes[(ns, key)] = None

    def clear(self, ns: str) -> None:
        self.flush()
        with storage_errors("state clear"):
            self._c.execute(self._sql.clear, (ns,))

    def add(self, ns: str, key: str, delta: Decimal | int) -> Decimal:
        value = add_exact(self.get(ns, key), delta)
        self.put(ns, key, value)
        return value

    def scan(
        self, ns: str, prefix: str = "", after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, Any]]:
        self.flush()
        with storage_errors("state scan"):
            rows = self._c.execute(self._sql.scan, {
                "ns": ns, "prefix": prefix, "after": after, "limit": limit}).fetchall()
        return [(k, load_value(v)) for k, v in rows]

    def flush(self) -> None:
        """Send the buffered puts and deletes, each as one statement."""
        if not self._writes:
            return
        puts = [(ns, key, raw) for (ns, key), raw in self._writes.items() if raw is not None]
        gone = [(ns, key) for (ns, key), raw in self._writes.items() if raw is None]
        self._writes.clear()
        with storage_errors("state write"):
            if puts:
                self._c.execute(self._sql.put, [list(col) for col in zip(*puts, strict=True)])
            if gone:
                self._c.execute(self._sql.delete, [list(col) for col in zip(*gone, strict=True)])


class PostgresState:
    """Key-value state in one PostgreSQL schema; each transaction takes a pooled connection."""

    def __init__(self, target: PgTarget, max_connections: int = 16) -> None:
        self._sql = _Sql(target)
        with target.connect() as conn:
            check_revision(conn, target)
        with storage_errors("open"):
            self._pool = ConnectionPool(
                target.conninfo, min_size=1, max_size=max_connections, open=False, name="pw-state",
                kwargs={"autocommit": False, **connection_options()}, configure=_serializable)
            self._pool.open(wait=True, timeout=10.0)

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        """SERIALIZABLE; COMMIT on success, ROLLBACK on error; conflicts raise StorageUnavailable."""
        with storage_errors("state transaction"):
            conn = self._pool.getconn()
        try:
            tx = _PostgresTx(conn, self._sql)
            try:
                yield tx
                tx.flush()
            except BaseException:
                _quietly_rollback(conn)
                raise
            with storage_errors("state commit"):
                try:
                    conn.commit()
                except psycopg.Error:
                    _quietly_rollback(conn)
                    raise
        finally:
            self._give_back(conn)

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        broken = conn.broken or conn.closed
        self._pool.putconn(conn)  # the pool drops a broken connection and opens a new one
        if broken:
            self._pool.check()  # after a server restart the idle ones are dead too

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()


def _serializable(conn: psycopg.Connection[Any]) -> None:
    conn.isolation_level = IsolationLevel.SERIALIZABLE


def _quietly_rollback(conn: psycopg.Connection[Any]) -> None:
    """Roll back after a failure; a connection that broke meanwhile has nothing left to undo."""
    if not (conn.broken or conn.closed):
        # a connection that dies during the rollback needs none: the server drops the transaction
        with suppress(psycopg.OperationalError):
            conn.rollback()


__all__ = ["PostgresState"]
