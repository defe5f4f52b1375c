"""Versioned schemas of the three SQLite files plantwire writes, and the runner that migrates them.

The files are the hub's journal (``journal.db``) and state store (``state.db``) and the edge
agent's outbox (``outbox.db``). Each file's schema version is SQLite's ``PRAGMA user_version``
(an integer in the file header, written in the same transaction as the tables). Version 1 is the
schema every release before versioning wrote; ``MIGRATIONS[n]`` takes a file from version n to
n + 1, and all of a file's steps run in one transaction, so an upgrade is all or nothing.

Why a small runner and not Alembic, which PostgreSQL uses: the SQLite stores are opened on the hot
path with the stdlib driver and nothing else (no SQLAlchemy import at start-up, nor on an edge
device); their schemas are a few tables each; and ``user_version`` is atomic with the DDL, which
Alembic's version table on SQLite gives too, but at the price of SQLAlchemy's connection handling
around our WAL connections. A migration here is a list of SQL statements (or, for a data
migration, a function of the connection) in this module, next to the schema it changes.

What opening a file does (`ensure`), so a careful operator is told before anything is migrated:

- an empty file (no tables) is created at the latest version: fresh data directories just work;
- an unversioned file (version 0) that has version 1's tables and columns is adopted as version 1,
  by stamping the version (and creating any missing index); this changes nothing an older
  plantwire reads, so it needs no operator;
- a file at an older version is refused: run ``plantwire db upgrade --data-dir D`` (after a
  backup); a migration may make the file unreadable for the older release, so it is never implicit;
- a file at a newer version than this code knows is refused: upgrade plantwire.

Every refusal is a `SchemaVersionError` (a ConfigurationError): the process does not start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plantwire.errors import SchemaVersionError

Step = Sequence[str] | Callable[[sqlite3.Connection], None]
"""One migration: SQL statements run in order, or a function given the connection (in the
transaction), for a change SQL alone cannot say."""

JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    digest BLOB NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (source, event_id)
);
"""
STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
"""
OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    pkey TEXT NOT NULL,
    priority INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    accepted_at REAL NOT NULL,
    forwarded_at REAL,
    done_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    hub_seq INTEGER,
    reason TEXT,
    digest BLOB NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (source, event_id)
);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (priority, seq) WHERE state < 2;
CREATE INDEX IF NOT EXISTS outbox_key ON outbox (pkey, seq) WHERE state < 2;
CREATE INDEX IF NOT EXISTS outbox_failed ON outbox (seq) WHERE state = 3;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
"""


def statements(script: str) -> list[str]:
    """A script's statements (ours hold no ';' inside a statement); executescript would COMMIT."""
    return [s.strip() for s in script.split(";") if s.strip()]


@dataclass(frozen=True)
class StoreSchema:
    """One SQLite file's schema: its usual file name, version 1's tables and columns, the steps."""

    file: str
    v1_tables: dict[str, tuple[str, ...]]
    """Each table of version 1 and its columns in order: how an unversioned file is recognised."""
    migrations: tuple[Step, ...]
    """migrations[n] takes the file from version n to n + 1; migrations[0] creates version 1."""

    @property
    def latest(self) -> int:
        """The version this code writes and runs on."""
        return len(self.migrations)


JOURNAL = StoreSchema("journal.db", {"journal": ("seq", "source", "event_id", "type", "partition_key",
                                                 "recorded_at", "digest", "body")},
                      (statements(JOURNAL_SCHEMA),))
STATE = StoreSchema("state.db", {"kv": ("ns", "key", "value")}, (statements(STATE_SCHEMA),))
OUTBOX = StoreSchema("outbox.db", {
    "outbox": ("seq", "source", "event_id", "type", "pkey", "priority", "state", "accepted_at",
               "forwarded_at", "done_at", "attempts", "hub_seq", "reason", "digest", "body"),
    "meta": ("name", "value")}, (statements(OUTBOX_SCHEMA),))
STORES: tuple[StoreSchema, ...] = (STATE, JOURNAL, OUTBOX)
"""Every store a data directory may hold, in the order a backup copies them (state before the
journal: see plantwire.journal.backup)."""


def stored_version(conn: sqlite3.Connection) -> int:
    """The file's PRAGMA user_version (0: never stamped)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {n: tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')) for n in names}


def _effective(conn: sqlite3.Connection, schema: StoreSchema, path: Path) -> int:
    """The version the file is at, reading an unversioned file's tables (0: empty, to create)."""
    version = stored_version(conn)
    if version:
        return version
    tables = _tables(conn)
    if not tables:
        return 0
    if all(tables.get(name) == cols for name, cols in schema.v1_tables.items()):
        return 1
    raise SchemaVersionError(f"data dir {path.parent}: {path.name} is not a plantwire {schema.file} "
                             f"(unversioned, with tables {sorted(tables)}; expected "
                             f"{sorted(schema.v1_tables)} with their version 1 columns)")


def _too_new(path: Path, version: int, schema: StoreSchema) -> SchemaVersionError:
    return SchemaVersionError(f"data dir {path.parent}: {path.name} schema version {version} is newer "
                              f"than this plantwire knows ({schema.latest}); upgrade plantwire")


def _run(conn: sqlite3.Connection, schema: StoreSchema, start: int) -> None:
    """Run migrations[start:] and stamp the latest version (inside the caller's transaction). An
    unversioned file runs from 0 even when adopted: version 1's statements are all IF NOT EXISTS."""
    for step in schema.migrations[start:]:
        if callable(step):
            step(conn)
        else:
            for sql in step:
                conn.execute(sql)
    conn.execute(f"PRAGMA user_version = {schema.latest}")


def ensure(conn: sqlite3.Connection, schema: StoreSchema, path: Path) -> int:
    """Make a store ready to open at the latest version, or refuse (see the module docstring)."""
    conn.execute("BEGIN IMMEDIATE")  # processes opening one fresh file at once take turns
    try:
        version = _effective(conn, schema, path)
        if version > schema.latest:
            raise _too_new(path, version, schema)
        if 0 < version < schema.latest:
            raise SchemaVersionError(
                f"data dir {path.parent}: {path.name} schema version {version} is older than this "
                f"plantwire's ({schema.latest}); back it up (`plantwire backup`) and run "
                f"`plantwire db upgrade --data-dir {path.parent}`")
        if stored_version(conn) == 0:
            _run(conn, schema, 0)  # create, or adopt (IF NOT EXISTS: only missing indexes)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return schema.latest


@dataclass(frozen=True)
class Upgraded:
    """What `upgrade` did to one file: the version it found (0: unversioned) and the one it left."""

    path: Path
    before: int
    after: int


def upgrade(path: Path, schema: StoreSchema) -> Upgraded:
    """Migrate one existing file to the latest version in one transaction (no-op when there)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            before = stored_version(conn)
            version = _effective(conn, schema, path)
            if version > schema.latest:
                raise _too_new(path, version, schema)
            if version < schema.latest or before == 0:
                _run(conn, schema, version if before else 0)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    return Upgraded(path, before, schema.latest)


def stores_in(data_dir: Path) -> list[tuple[Path, StoreSchema]]:
    """The plantwire SQLite files directly in a data directory (hub, edge agent, or both)."""
    return [(data_dir / s.file, s) for s in STORES if (data_dir / s.file).is_file()]


def upgrade_data_dir(data_dir: Path) -> list[Upgraded]:
    """Upgrade every store in the directory; SchemaVersionError when there is none."""
    found = stores_in(data_dir)
    if not found:
        raise SchemaVersionError(f"data dir {data_dir}: no plantwire SQLite files in it (looked for "
                                 f"{', '.join(s.file for s in STORES)})")
    return [upgrade(path, schema) for path, schema in found]
