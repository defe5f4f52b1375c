"""`plantwire db upgrade` through the real CLI: --backend postgresql:// creates a fresh schema at
the migrations' head and says so, twice without harm; exactly one of --backend and --data-dir."""

from __future__ import annotations

import sys
from pathlib import Path

from pg import PgDatabase, ensure_server

from plantwire.journal.postgres import SCHEMA_REVISION

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from e2e.hubs import run_cli  # noqa: E402


def test_db_upgrade_backend_creates_and_keeps_a_schema() -> None:
    ensure_server()
    db = PgDatabase()  # a schema of its own, not created yet: the CLI creates it
    try:
        for _ in range(2):
            out = run_cli("db", "upgrade", "--backend", db.url).stdout
            assert f"schema {db.schema!r} is at revision {SCHEMA_REVISION}" in out, out
    finally:
        db.drop()


def test_db_upgrade_takes_exactly_one_target(tmp_path: Path) -> None:
    for args in ((), ("--backend", "postgresql://x@127.0.0.1:1/x", "--data-dir", str(tmp_path))):
        done = run_cli("db", "upgrade", *args, check=False)
        assert done.returncode == 1 and "exactly one of --backend" in done.stderr, done
    done = run_cli("db", "upgrade", "--backend", "mysql://x", check=False)
    assert done.returncode == 1 and "must be a postgresql:// URL" in done.stderr, done
