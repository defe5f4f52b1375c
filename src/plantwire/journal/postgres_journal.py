"""The journal of record in PostgreSQL (psycopg 3 directly: the append is the hot path).

Sequence numbers are not taken from a PostgreSQL sequence or identity column: those are handed
out before commit, so a reader could see #11 committed while #10 is still in flight, move its
cursor past 10 and never see it. Instead every append locks the one row of ``journal_head`` and
assigns ``head + 1 ...`` in the same transaction that inserts the rows and moves the head. The next
appender waits on that row lock until the first has committed (and become visible), so commit
order is seq order, seqs are dense, and ``read(after)`` can never skip an entry. The price is
that appends from all processes are serialized; group commit above (``service.ingest``) makes
each of them carry many rows, and the benchmark prints what it costs against raw inserts.

The common case is one statement: lock and move the head, insert every row with its seq
(``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING``). If fewer rows went in than
were sent, the batch held a resend or a conflict: that transaction is rolled back and the batch
is redone with a look-up of the identities it names, one outcome per item in batch order.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from plantwire.envelope import Appended, AppendOutcome, Conflicted, JournalEntry, OutboxRow, Pending
from plantwire.journal.codec import entry_from_row
from plantwire.journal.postgres import PgTarget, check_revision, connection_options, storage_errors
from plantwire.ports import Clock

_ARRAYS = ("unnest(%(sources)b::text[], %(ids)b::text[], %(types)b::text[], %(keys)b::text[], "
           "%(digests)b::bytea[], %(bodies)b::bytea[]) WITH ORDINALITY "
           "AS u(source, event_id, type, partition_key, digest, body, ord)")
_COLUMNS = "seq, source, event_id, type, partition_key, recorded_at, digest, body"


class _Sql:
    """The statements, with the schema's table names filled in once."""

    def __init__(self, t: PgTarget) -> None:
        journal, head = t.table("journal"), t.table("journal_head")
        self.fast = f"""
            WITH head AS (
                UPDATE {head} SET seq = seq + %(n)s WHERE id = 1 RETURNING seq - %(n)s AS base
            ), added AS (
                INSERT INTO {journal} ({_COLUMNS})
                SELECT head.base + u.ord, u.source, u.event_id, u.type, u.partition_key,
                       %(at)s, u.digest, u.body
                FROM head, {_ARRAYS}
                ON CONFLICT (source, event_id) DO NOTHING
                RETURNING 1
            )
            SELECT (SELECT base FROM head), (SELECT count(*) FROM added)"""
        self.lock_head = f"SELECT seq FROM {head} WHERE id = 1 FOR UPDATE"
        self.existing = (
            f"SELECT j.source, j.event_id, j.seq, j.digest FROM {journal} j "
            "JOIN unnest(%b::text[], %b::text[]) AS u(source, event_id) "
            "ON j.source = u.source AND j.event_id = u.event_id")
        self.insert = (
            f"INSERT INTO {journal} ({_COLUMNS}) "
            "SELECT %(base)s + u.ord, u.source, u.event_id, u.type, u.partition_key, %(at)s, "
            f"u.digest, u.body FROM {_ARRAYS}")
        self.set_head = f"UPDATE {head} SET seq = %s WHERE id = 1"
        self.read = (
            "SELECT seq, recorded_at, "
            "CASE WHEN %(all)s OR type = ANY(%(types)b::text[]) THEN body END "
            f"FROM {journal} WHERE seq > %(after)s ORDER BY seq LIMIT %(limit)s")
        self.outbox = (
            "SELECT seq, recorded_at, source, event_id, type, partition_key, "
            "convert_from(body, 'UTF8')::jsonb ->> 'plant', body "
            f"FROM {journal} WHERE seq > %s ORDER BY seq LIMIT %s")
        self.by_identity = f"SELECT seq, recorded_at, body FROM {journal} WHERE source = %s AND event_id = %s"
        self.by_seq = f"SELECT seq, recorded_at, body FROM {journal} WHERE seq = %s"
        self.head = f"SELECT seq FROM {head} WHERE id = 1"


class _RedoSlowly(Exception):
    """The optimistic insert met an existing identity: roll it back and take the careful path."""


def _arrays(batch: Sequence[Pending]) -> dict[str, Any]:
    return {
        "sources": [p.source for p in batch], "ids": [p.id for p in batch],
        "types": [p.type for p in batch], "keys": [p.partitionkey for p in batch],
        "digests": [p.digest for p in batch], "bodies": [p.body for p in batch],
    }


def plan(batch: Sequence[Pending], existing: dict[tuple[str, str], tuple[int, bytes]],
         head: int) -> tuple[list[AppendOutcome], list[Pending]]:
    """Outcomes in batch order given the identities already journaled, and the items to insert
    (which take head + 1, head + 2, ... in that order). Updates `existing` as it goes."""
    out: list[AppendOutcome] = []
    new: list[Pending] = []
    for item in batch:
        found = existing.get(item.identity)
        if found is not None:
            seq, digest = found
            out.append(Appended(seq, True) if digest == item.digest else Conflicted(seq))
            continue
        new.append(item)
        existing[item.identity] = (head + len(new), item.digest)
        out.append(Appended(head + len(new), False))
    return out, new


class PostgresJournal:
    """The journal in one PostgreSQL schema; any number of appending and reading processes."""

    def __init__(self, target: PgTarget, clock: Clock, readers: int = 8) -> None:
        self._target, self._clock, self._sql = target, clock, _Sql(target)
        self._write_lock = threading.Lock()
        self._writer: psycopg.Connection[Any] | None = target.connect(autocommit=False)
        check_revision(self._writer, target)
        self._writer.rollback()
        with storage_errors("open"):
            self._readers = ConnectionPool(
                target.conninfo, min_size=1, max_size=readers, open=False, name="pw-journal",
                kwargs={"autocommit": True, **connection_options()})
            self._readers.open(wait=True, timeout=10.0)

    # -- appending -------------------------------------------------------------------------

    def append(self, batch: Sequence[Pending]) -> list[AppendOutcome]:
        """Insert-if-absent, one transaction, committed (synchronous_commit=on) on return."""
        if not batch:
            return []
        at = self._clock.now()
        with self._write_lock, storage_errors("journal append"):
            conn = self._connection()
            try:
                try:
                    return self._append_fast(conn, batch, at)
                except _RedoSlowly:
                    return self._append_slow(conn, batch, at)
            except psycopg.Error:
                self._discard_if_broken(conn)
                raise

    def _append_fast(self, conn: psycopg.Connection[Any], batch: Sequence[Pending],
                     at: float) -> list[AppendOutcome]:
        n = len(batch)
        with conn.transaction():
            row = conn.execute(self._sql.fast, {"n": n, "at": at, **_arrays(batch)}).fetchone()
            assert row is not None
            base, inserted = row
            if inserted != n:
                raise _RedoSlowly  # rolls the transaction back, head included
        return [Appended(base + i, False) for i in range(1, n + 1)]

    def _append_slow(self, conn: psycopg.Connection[Any], batch: Sequence[Pending],
                     at: float) -> list[AppendOutcome]:
        with conn.transaction():
            locked = conn.execute(self._sql.lock_head).fetchone()
            assert locked is not None
            head: int = locked[0]
            rows = conn.execute(self._sql.existing, ([p.source for p in batch],
                                                     [p.id for p in batch])).fetchall()
            existing = {(src, eid): (seq, bytes(dig)) for src, eid, seq, dig in rows}
            out, new = plan(batch, existing, head)
            if new:
                conn.execute(self._sql.insert, {"base": head, "at": at, **_arrays(new)})
                conn.execute(self._sql.set_head, (head + len(new),))
        return out

    def _connection(self) -> psycopg.Connection[Any]:
        if self._writer is None or self._writer.closed:
            self._writer = self._target.connect(autocommit=False)
        return self._writer

    def _discard_if_broken(self, conn: psycopg.Connection[Any]) -> None:
        if conn.broken or conn.closed:
            conn.close()
            self._writer = None

    # -- reading ---------------------------------------------------------------------------

    def _fetch(self, doing: str, sql: str, params: Any) -> list[tuple[Any, ...]]:
        with storage_errors(doing), self._readers.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def read(
        self, after: int, limit: int, types: Collection[str] | None = None
    ) -> tuple[list[JournalEntry], int]:
        """Entries after a seq in seq order; bodies only of the types asked for are sent."""
        rows = self._fetch("journal read", self._sql.read, {
            "after": after, "limit": limit, "all": not types, "types": list(types or ())})
        last = rows[-1][0] if rows else after
        return [entry_from_row(s, r, b) for s, r, b in rows if b is not None], last

    def read_outbox(self, after: int, limit: int) -> tuple[list[OutboxRow], int]:
        """Entries after a seq as the bus relay sends them: identity, type, key and plant (the
        ``plant`` extension) as columns and the body as stored, so no envelope is rebuilt."""
        rows = self._fetch("journal read", self._sql.outbox, (after, limit))
        return [OutboxRow(*row) for row in rows], (rows[-1][0] if rows else after)

    def get(self, source: str, event_id: str) -> JournalEntry | None:
        """Look up by identity."""
        rows = self._fetch("journal get", self._sql.by_identity, (source, event_id))
        return entry_from_row(*rows[0]) if rows else None

    def get_seq(self, seq: int) -> JournalEntry | None:
        """Look up by sequence."""
        rows = self._fetch("journal get_seq", self._sql.by_seq, (seq,))
        return entry_from_row(*rows[0]) if rows else None

    def head(self) -> int:
        """The highest committed seq (the head row moves in the appending transaction)."""
        rows = self._fetch("journal head", self._sql.head, None)
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        """Close the writer and the reader pool."""
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self._readers.close()


__all__ = ["PostgresJournal", "plan"]
