"""The journal contract against PostgreSQL, plus what only a multi-process journal must prove."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
from journal_suite import JournalContract, pending
from pg import PgDatabase, pg_database  # noqa: F401  (the fixture is used by name)

from plantwire.clocks import ManualClock
from plantwire.envelope import Appended
from plantwire.errors import ConfigurationError, StorageUnavailable
from plantwire.journal.migrations import head_revision
from plantwire.journal.postgres import SCHEMA_REVISION, PgTarget, upgrade
from plantwire.journal.postgres_journal import PostgresJournal


class TestPostgresJournal(JournalContract):
    @pytest.fixture(autouse=True)
    def _database(self, pg_database: PgDatabase) -> None:  # noqa: F811
        self.db = pg_database

    def make_journal(self, tmp_path: Path, clock: ManualClock) -> PostgresJournal:
        return PostgresJournal(PgTarget.from_url(self.db.url_for(tmp_path)), clock)

    def test_no_reader_skips_an_entry_under_concurrent_appenders(
        self, tmp_path: Path, clock: ManualClock
    ) -> None:
        """Four appenders on their own connections (as four processes would be) race a reader
        that moves its cursor to `last` after every read. Every read must continue exactly where
        the last one ended: a seq made visible before a lower one committed would show as a gap,
        and the cursor would skip the lower one for good."""
        writers = [self.make_journal(tmp_path, clock) for _ in range(4)]
        reader = self.make_journal(tmp_path, clock)
        done = threading.Event()
        appended: list[int] = []
        seen: list[int] = []
        gaps: list[tuple[int, list[int]]] = []
        lock = threading.Lock()

        def append(n: int, journal: PostgresJournal) -> None:
            for i in range(60):
                outs = journal.append([pending(f"w{n}-{i}-{j}", key=f"K{j}") for j in range(1 + i % 5)])
                with lock:
                    appended.extend(o.seq for o in outs)

        def read() -> None:
            cursor = 0
            while True:
                finished = done.is_set()
                entries, last = reader.read(cursor, 7)
                seqs = [e.seq for e in entries]
                if seqs != list(range(cursor + 1, last + 1)):
                    gaps.append((cursor, seqs))
                seen.extend(seqs)
                cursor = last
                if finished and not entries:
                    return

        threads = [threading.Thread(target=append, args=(n, j)) for n, j in enumerate(writers)]
        scanner = threading.Thread(target=read)
        try:
            scanner.start()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            done.set()
            scanner.join()
        finally:
            for j in [*writers, reader]:
                j.close()
        assert gaps == []
        assert sorted(appended) == list(range(1, len(appended) + 1))  # dense, none twice
        assert seen == sorted(appended)

    def test_two_processes_appending_the_same_identity_get_one_entry(
        self, tmp_path: Path, clock: ManualClock
    ) -> None:
        first, second = self.make_journal(tmp_path, clock), self.make_journal(tmp_path, clock)
        outcomes: list[list[Appended]] = []

        def send(journal: PostgresJournal) -> None:
            outs = journal.append([pending(f"same-{i}") for i in range(50)])
            outcomes.append(outs)  # type: ignore[arg-type]

        try:
            threads = [threading.Thread(target=send, args=(j,)) for j in (first, second)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            a, b = outcomes
            assert [o.seq for o in a] == [o.seq for o in b] == list(range(1, 51))
            assert sorted((a[0].duplicate, b[0].duplicate)) == [False, True]
            assert first.head() == 50
        finally:
            first.close()
            second.close()

    def test_an_unmigrated_schema_is_a_configuration_error(self, clock: ManualClock) -> None:
        target = PgTarget.from_url(self.db.url.replace(self.db.schema, "pw_test_never_created"))
        with pytest.raises(ConfigurationError, match="db upgrade"):
            PostgresJournal(target, clock)

    def test_an_unreachable_server_is_storage_unavailable(self, clock: ManualClock) -> None:
        target = PgTarget("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2", self.db.schema)
        with pytest.raises(StorageUnavailable):
            PostgresJournal(target, clock)

    def test_a_lost_connection_is_retryable_and_the_next_append_reconnects(
        self, tmp_path: Path, clock: ManualClock
    ) -> None:
        journal = self.make_journal(tmp_path, clock)
        try:
            journal.append([pending("a")])
            with psycopg.connect(self.db.target.conninfo, autocommit=True) as admin:
                # only this journal's writer: other tests' hubs run beside this one under pytest -n
                writer = journal._writer
                assert writer is not None
                admin.execute("SELECT pg_terminate_backend(%s)", (writer.info.backend_pid,))
            with pytest.raises(StorageUnavailable):
                journal.append([pending("b")])
            [b] = journal.append([pending("b")])
            assert b == Appended(2, False)
        finally:
            journal.close()


def test_the_code_expects_the_newest_migration(pg_database: PgDatabase) -> None:  # noqa: F811
    assert head_revision() == SCHEMA_REVISION
    assert upgrade(pg_database.url) == SCHEMA_REVISION  # idempotent on a migrated schema


def test_backend_urls_name_their_schema() -> None:
    t = PgTarget.from_url("postgresql://u@h:5/db?sslmode=disable&schema=plant_a")
    assert t == PgTarget("postgresql://u@h:5/db?sslmode=disable", "plant_a")
    assert PgTarget.from_url("postgres://u@h/db").schema == "plantwire"
    with pytest.raises(ConfigurationError):
        PgTarget.from_url("postgresql://u@h/db?schema=Robert'); DROP TABLE x")
    with pytest.raises(ConfigurationError):
        PgTarget.from_url("sqlite")
