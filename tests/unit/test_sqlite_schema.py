"""The SQLite schema runner on real files: create, adopt, refuse newer and older, migrate, idempotent.

A version 2 that adds a column stands in for a future migration (the runner takes the schema as a
value), so the older-version path and a real upgrade are exercised before any release needs them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from plantwire.bootstrap import JOURNAL_FILE, STATE_FILE
from plantwire.clocks import ManualClock
from plantwire.edge.outbox import Outbox
from plantwire.edge.settings import OUTBOX_FILE
from plantwire.errors import ConfigurationError, SchemaVersionError
from plantwire.journal.sqlite import SqliteJournal, SqliteState
from plantwire.journal.sqlite_schema import (
    JOURNAL,
    OUTBOX,
    STATE,
    STATE_SCHEMA,
    ensure,
    stored_version,
    upgrade,
    upgrade_data_dir,
)

STATE_V2 = replace(STATE, migrations=(*STATE.migrations, ("ALTER TABLE kv ADD COLUMN note TEXT",)))


def version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return stored_version(conn)
    finally:
        conn.close()


def open_conn(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_file_names_agree_with_the_stores() -> None:
    assert (JOURNAL.file, STATE.file, OUTBOX.file) == (JOURNAL_FILE, STATE_FILE, OUTBOX_FILE)


def test_fresh_files_are_created_at_the_latest_version(tmp_path: Path) -> None:
    SqliteJournal(tmp_path / "journal.db", ManualClock()).close()
    SqliteState(tmp_path / "state.db").close()
    Outbox(tmp_path / "outbox.db").close()
    assert [version(tmp_path / f) for f in ("journal.db", "state.db", "outbox.db")] == [1, 1, 1]


def test_an_unversioned_file_with_todays_tables_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    conn = open_conn(path)
    conn.executescript(STATE_SCHEMA)
    conn.execute("INSERT INTO kv VALUES ('ns', 'k', x'01')")
    assert ensure(conn, STATE, path) == 1
    assert stored_version(conn) == 1
    assert conn.execute("SELECT ns, key FROM kv").fetchall() == [("ns", "k")]
    conn.close()


def test_a_file_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    conn = open_conn(path)
    conn.execute("CREATE TABLE journal (seq INTEGER PRIMARY KEY, what TEXT)")
    with pytest.raises(SchemaVersionError, match="is not a plantwire journal.db"):
        ensure(conn, JOURNAL, path)
    conn.close()


def test_a_newer_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    SqliteJournal(path, ManualClock()).close()
    conn = open_conn(path)
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    message = f"data dir {tmp_path}: journal.db schema version 3 is newer than this plantwire knows (1)"
    with pytest.raises(SchemaVersionError, match="upgrade plantwire") as caught:
        SqliteJournal(path, ManualClock())
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ConfigurationError)
    with pytest.raises(SchemaVersionError, match="newer"):
        upgrade(path, JOURNAL)
    assert version(path) == 3


def test_an_older_file_is_refused_until_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with SqliteState(path).transaction() as tx:
        tx.put("ns", "k", {"a": 1})
    conn = open_conn(path)
    with pytest.raises(SchemaVersionError, match=r"older than this plantwire's \(2\).*db upgrade"):
        ensure(conn, STATE_V2, path)
    assert stored_version(conn) == 1  # refused without writing
    conn.close()
    assert upgrade(path, STATE_V2).before == 1
    assert version(path) == 2
    conn = open_conn(path)
    assert [r[1] for r in conn.execute("PRAGMA table_info(kv)")] == ["ns", "key", "value", "note"]
    assert ensure(conn, STATE_V2, path) == 2
    assert conn.execute("SELECT count(*) FROM kv").fetchone()[0] == 1
    conn.close()


def test_upgrade_is_idempotent_and_needs_a_store(tmp_path: Path) -> None:
    SqliteState(tmp_path / "state.db").close()
    first = upgrade_data_dir(tmp_path)
    again = upgrade_data_dir(tmp_path)
    assert [(u.path.name, u.before, u.after) for u in first] == [("state.db", 1, 1)]
    assert first == again
    with pytest.raises(SchemaVersionError, match="no plantwire SQLite files"):
        upgrade_data_dir(tmp_path / "empty")
