"""Alembic migrations of the PostgreSQL schema, run programmatically (``plantwire db upgrade``).

Every table lives in the schema named by the backend URL (``?schema=``), created if missing, with
its own ``alembic_version`` table, so several hubs or test runs can share one database. Upgrades
take a transaction-level advisory lock, so workers started together do not race each other.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from plantwire.journal.postgres import PgTarget, storage_errors

HERE = Path(__file__).resolve().parent


def _config(target: PgTarget | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["target"] = target
    return config


def head_revision() -> str:
    """The newest revision the migration scripts define."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migration revisions found")
    return head


def upgrade_schema(target: PgTarget, revision: str = "head") -> str:
    """Create the schema if needed and upgrade it; returns the revision now in place."""
    with storage_errors("schema upgrade"):
        command.upgrade(_config(target), revision)
        with target.connect() as conn:
            row = conn.execute(f"SELECT version_num FROM {target.table('alembic_version')}").fetchone()
    return str(row[0]) if row else ""
