"""Alembic environment: one schema per hub, named by the backend URL, upgraded under a lock."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from plantwire.journal.postgres import PgTarget

# an arbitrary constant: the advisory lock key of schema upgrades
UPGRADE_LOCK = 0x706C616E74776972


def run_migrations_online() -> None:
    """Migrate over a psycopg connection made from the target's libpq URL."""
    target = context.config.attributes["target"]
    assert isinstance(target, PgTarget)
    engine = create_engine("postgresql+psycopg://", creator=lambda: target.connect(autocommit=False),
                           poolclass=pool.NullPool)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": UPGRADE_LOCK})
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"'))
        conn.execute(text(f'SET LOCAL search_path TO "{target.schema}"'))
        context.configure(connection=conn, version_table_schema=target.schema,
                          transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported; run `plantwire db upgrade`")
run_migrations_online()
