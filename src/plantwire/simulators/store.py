"""A simulator's SQLite file: its own tables plus the shared event log, webhook outbox, timers,
document number ranges, idempotency records and settings.

Every simulator runs its HTTP handlers on one asyncio loop and touches SQLite only from that loop,
so one connection is enough; `tx()` groups statements into one durable transaction (WAL mode).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

BASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS sim_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, key TEXT, data TEXT NOT NULL,
  ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sim_webhooks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, types TEXT, max_attempts INTEGER NOT NULL,
  created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sim_outbox (
  webhook_id INTEGER NOT NULL, seq INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0, sends INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,
  last_error TEXT, PRIMARY KEY (webhook_id, seq));
CREATE INDEX IF NOT EXISTS sim_outbox_due ON sim_outbox (status, next_at);
CREATE TABLE IF NOT EXISTS sim_numbers (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sim_idempotency (
  scope TEXT NOT NULL, key TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,
  created REAL NOT NULL, PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS sim_timers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, due REAL NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sim_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

Row = dict[str, Any]


@dataclass(frozen=True)
class EventRow:
    """One announced event as stored: the sim's envelope function turns it into its wire shape."""

    seq: int
    type: str
    key: str | None
    data: dict[str, Any]
    ts: float


@dataclass(frozen=True)
class Timer:
    """Something a simulator promised to do later (auto-acknowledge, auto-confirm)."""

    id: int
    kind: str
    payload: dict[str, Any]


class Store:
    """The simulator's SQLite database with the shared tables and helpers."""

    def __init__(self, path: Path, schema: str, on_emit: Callable[[], None] = lambda: None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.on_emit = on_emit
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(BASE_SCHEMA + schema)
        self._depth = 0

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; nested calls join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._depth = 0

    # -- small query helpers ----------------------------------------------------------------
    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Row]:
        """All rows of a query as dicts."""
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def row(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Row | None:
        """The first row of a query as a dict, or None."""
        found = self.conn.execute(sql, params).fetchone()
        return dict(found) if found is not None else None

    def scalar(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        found = self.conn.execute(sql, params).fetchone()
        return found[0] if found is not None else None

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Cursor:
        """Run one statement."""
        return self.conn.execute(sql, params)

    # -- number ranges, settings, idempotency -----------------------------------------------
    def next_number(self, name: str, first: int) -> int:
        """The next number of a document number range (like SAP's NRIV), starting at `first`."""
        with self.tx():
            current = self.scalar("SELECT value FROM sim_numbers WHERE name = ?", (name,))
            value = first if current is None else int(current) + 1
            self.execute(
                "INSERT INTO sim_numbers (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
        return value

    def setting(self, name: str, default: Any) -> Any:
        """A persisted setting (JSON), or the default."""
        raw = self.scalar("SELECT value FROM sim_settings WHERE name = ?", (name,))
        return default if raw is None else orjson.loads(raw)

    def set_setting(self, name: str, value: Any) -> None:
        """Persist a setting (JSON)."""
        with self.tx():
            self.execute(
                "INSERT INTO sim_settings (name, value) VALUES (?, ?) ON CONFLICT (name) "
                "DO UPDATE SET value = excluded.value",
                (name, orjson.dumps(value).decode()),
            )

    def recall(self, scope: str, key: str) -> tuple[int, Any] | None:
        """The (status, body) stored for an idempotency key, if the command was seen before."""
        found = self.row("SELECT status, body FROM sim_idempotency WHERE scope = ? AND key = ?", (scope, key))
        return None if found is None else (int(found["status"]), orjson.loads(found["body"]))

    def remember(self, scope: str, key: str, status: int, body: Any) -> None:
        """Store the outcome of a command under its idempotency key."""
        self.execute(
            "INSERT INTO sim_idempotency (scope, key, status, body, created) VALUES (?,?,?,?,?)",
            (scope, key, status, orjson.dumps(body).decode(), time.time()),
        )

    # -- events and the webhook outbox -------------------------------------------------------
    def emit(self, type_: str, data: dict[str, Any], key: str | None = None) -> int:
        """Announce an event: append it to the feed and queue it for every matching webhook."""
        with self.tx():
            now = time.time()
            cur = self.execute(
                "INSERT INTO sim_events (type, key, data, ts) VALUES (?, ?, ?, ?)",
                (type_, key, orjson.dumps(data).decode(), now),
            )
            seq = int(cur.lastrowid or 0)
            for hook in self.rows("SELECT id, types FROM sim_webhooks"):
                types = orjson.loads(hook["types"]) if hook["types"] else None
                if types is None or type_ in types:
                    self.execute(
                        "INSERT INTO sim_outbox (webhook_id, seq, next_at) VALUES (?, ?, ?)",
                        (hook["id"], seq, now),
                    )
        self.on_emit()
        return seq

    def events_after(self, after: int, limit: int, types: list[str] | None = None) -> list[EventRow]:
        """Events with seq > after, oldest first."""
        sql, params = "SELECT * FROM sim_events WHERE seq > ?", list[Any]([after])
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            params += types
        sql += " ORDER BY seq LIMIT ?"
        return [_event(r) for r in self.rows(sql, [*params, limit])]

    def event(self, seq: int) -> EventRow | None:
        """One event by sequence number."""
        found = self.row("SELECT * FROM sim_events WHERE seq = ?", (seq,))
        return None if found is None else _event(found)

    def head(self) -> int:
        """The highest event sequence number (0 when nothing was announced)."""
        return int(self.scalar("SELECT COALESCE(MAX(seq), 0) FROM sim_events"))

    # -- timers ------------------------------------------------------------------------------
    def schedule(self, kind: str, delay_s: float, payload: dict[str, Any]) -> None:
        """Do `kind` with `payload` after `delay_s` seconds (kept across restarts)."""
        self.execute(
            "INSERT INTO sim_timers (due, kind, payload) VALUES (?, ?, ?)",
            (time.time() + delay_s, kind, orjson.dumps(payload).decode()),
        )

    def due_timers(self, limit: int = 100) -> list[Timer]:
        """Timers that are due now, earliest first."""
        found = self.rows(
            "SELECT id, kind, payload FROM sim_timers WHERE due <= ? ORDER BY due, id LIMIT ?",
            (time.time(), limit),
        )
        return [Timer(r["id"], r["kind"], orjson.loads(r["payload"])) for r in found]

    def cancel_timer(self, timer_id: int) -> None:
        """Forget a timer (done or no longer wanted)."""
        self.execute("DELETE FROM sim_timers WHERE id = ?", (timer_id,))


def _event(row: Row) -> EventRow:
    return EventRow(int(row["seq"]), row["type"], row["key"], orjson.loads(row["data"]), float(row["ts"]))
