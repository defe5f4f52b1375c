"""PostgreSQL backend: what the journal and the state store share (URLs, connections, errors).

The backend is chosen by a URL such as ``postgresql://plantwire@db:5432/hub?schema=plant_a``;
``schema`` (default ``plantwire``) is ours, stripped before libpq sees the rest, and names the
PostgreSQL schema that holds every table, so one database can host several hubs (or test runs).

psycopg 3 is used directly, not through SQLAlchemy: the append path is one set-based statement
with array parameters, and the benchmark (benchmarks/postgres_journal.py) compares it against
raw ``COPY`` and ``executemany`` on the same driver. SQLAlchemy is used only by the Alembic
migrations (``plantwire.journal.migrations``), which own the schema.

Errors are translated here, at the boundary: a lost connection, a pool timeout, a serialization
failure or a deadlock becomes ``StorageUnavailable`` (retry); a schema that is missing or at
another revision becomes ``ConfigurationError`` (run ``plantwire db upgrade``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors

from plantwire.errors import ConfigurationError, StorageUnavailable

DEFAULT_SCHEMA = "plantwire"
SCHEMA_REVISION = "0001"
"""The Alembic revision this code expects (a test checks it is the migrations' head)."""

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
T = TypeVar("T")


def is_postgres_url(backend: str) -> bool:
    """Whether a backend setting names a PostgreSQL database."""
    return backend.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class PgTarget:
    """Where the tables live: a libpq connection URL and the schema inside that database."""

    conninfo: str
    schema: str = DEFAULT_SCHEMA

    @classmethod
    def from_url(cls, url: str) -> PgTarget:
        """Parse ``postgresql://...[?schema=name]``; the schema must be a plain lower-case name."""
        if not is_postgres_url(url):
            raise ConfigurationError(f"not a PostgreSQL URL: {url!r} (expected postgresql://...)")
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        schemas = [v for k, v in query if k == "schema"]
        rest = urlencode([(k, v) for k, v in query if k != "schema"])
        return cls(urlunsplit(parts._replace(query=rest)), schemas[-1] if schemas else DEFAULT_SCHEMA)

    def __post_init__(self) -> None:
        if not _SCHEMA_NAME.fullmatch(self.schema):
            raise ConfigurationError(
                f"schema {self.schema!r} must match [a-z_][a-z0-9_]* (at most 63 characters)")

    def table(self, name: str) -> str:
        """A schema-qualified table name for SQL text (the schema name was validated)."""
        return f'"{self.schema}".{name}'

    def connect(self, autocommit: bool = True) -> psycopg.Connection[Any]:
        """A new connection with durable commits, whatever the server default."""
        with storage_errors("connect"):
            return psycopg.connect(self.conninfo, autocommit=autocommit, **connection_options())


def connection_options() -> dict[str, Any]:
    """Keyword arguments for every connection: synchronous_commit on, a recognisable name."""
    return {"application_name": "plantwire", "options": "-c synchronous_commit=on"}


def is_retryable(exc: BaseException) -> bool:
    """Lost connections, pool timeouts, serialization failures and deadlocks: try again later."""
    return isinstance(exc, psycopg.OperationalError)  # includes class 40 and 57 SQLSTATEs, PoolTimeout


@contextmanager
def storage_errors(doing: str) -> Iterator[None]:
    """Translate driver errors at the boundary: retryable ones to StorageUnavailable."""
    try:
        yield
    except psycopg.Error as exc:
        if is_retryable(exc):
            raise StorageUnavailable(f"postgres {doing} failed: {exc}") from exc
        if isinstance(exc, pg_errors.UndefinedTable | pg_errors.InvalidSchemaName):
            raise ConfigurationError(
                f"postgres {doing}: the schema is missing or out of date ({exc}); "
                "run `plantwire db upgrade --backend URL`") from exc
        raise


def translated(doing: str, call: Callable[[], T]) -> T:
    """`call()` with driver errors translated."""
    with storage_errors(doing):
        return call()


def check_revision(conn: psycopg.Connection[Any], target: PgTarget) -> None:
    """Refuse to run on a schema that `plantwire db upgrade` has not brought to our revision."""
    with storage_errors("schema check"):
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (target.table("alembic_version"),)).fetchone()
        found = None
        if row and row[0]:
            got = conn.execute(f"SELECT version_num FROM {target.table('alembic_version')}").fetchone()
            found = got[0] if got else None
    if found != SCHEMA_REVISION:
        raise ConfigurationError(
            f"PostgreSQL schema {target.schema!r} is at revision {found or 'none'}, this plantwire "
            f"needs {SCHEMA_REVISION}: run `plantwire db upgrade --backend URL` first")


def upgrade(url_or_target: str | PgTarget) -> str:
    """Bring the schema to the newest revision (Alembic); returns the revision now in place."""
    from plantwire.journal.migrations import upgrade_schema

    target = url_or_target if isinstance(url_or_target, PgTarget) else PgTarget.from_url(url_or_target)
    return upgrade_schema(target)


__all__ = ["DEFAULT_SCHEMA", "SCHEMA_REVISION", "PgTarget", "check_revision", "is_postgres_url",
           "storage_errors", "translated", "upgrade"]
