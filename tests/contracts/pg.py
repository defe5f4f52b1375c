"""PostgreSQL for tests: reach (or start) the local server, one schema per test run, fresh tables.

Import the ``pg_database`` fixture into a test module (``from pg import pg_database``). It makes a
schema ``pw_test_<random>``, upgrades it with the real migrations, and drops it at the end. Each
test gets empty tables the first time it opens a store for its ``tmp_path``; opening again with
the same ``tmp_path`` (a "restart") keeps what is there.

When the server cannot be reached even after trying to start it, tests skip locally and FAIL when
``CI=true``: a green CI must mean the PostgreSQL backend was tested.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from plantwire.journal.postgres import PgTarget, upgrade

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
URL = os.environ.get("PLANTWIRE_TEST_PG", DEFAULT_URL)


def _reachable(url: str) -> str | None:
    """None when a connection works, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.OperationalError as exc:
        return str(exc).strip()


def _start_local_cluster() -> None:
    """Try `pg_ctlcluster` on the one installed version (as the local packages lay it out)."""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if versions:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
                       capture_output=True, timeout=60, check=False)


def ensure_server(url: str = URL) -> None:
    """Make sure PostgreSQL answers; skip (locally) or fail (CI=true) when it cannot be had."""
    why = _reachable(url)
    if why is None:
        return
    _start_local_cluster()
    deadline = time.monotonic() + 20
    while why is not None and time.monotonic() < deadline:
        time.sleep(0.25)
        why = _reachable(url)
    if why is None:
        return
    message = f"PostgreSQL at {url} is not reachable after trying to start it: {why}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)  # only off CI: under CI=true it failed above


class PgDatabase:
    """One schema for a test run; `url_for(tmp_path)` empties its tables once per tmp_path."""

    def __init__(self, base_url: str = URL) -> None:
        self.schema = f"pw_test_{uuid.uuid4().hex[:12]}"
        sep = "&" if "?" in base_url else "?"
        self.url = f"{base_url}{sep}schema={self.schema}"
        self.target = PgTarget.from_url(self.url)
        self._current: Path | None = None

    def create(self) -> None:
        upgrade(self.target)

    def url_for(self, tmp_path: Path) -> str:
        """The backend URL for a test; the first call for a new tmp_path starts from empty tables."""
        if tmp_path != self._current:
            self._current = tmp_path
            self.truncate()
        return self.url

    def truncate(self) -> None:
        with psycopg.connect(self.target.conninfo, autocommit=True) as conn:
            t = self.target.table
            conn.execute(f"TRUNCATE {t('journal')}, {t('kv')}")
            conn.execute(f"UPDATE {t('journal_head')} SET seq = 0")

    def drop(self) -> None:
        with psycopg.connect(self.target.conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    """A migrated schema of its own for this test run (per xdist worker), dropped afterwards."""
    ensure_server()
    db = PgDatabase()
    db.create()
    try:
        yield db
    finally:
        db.drop()
