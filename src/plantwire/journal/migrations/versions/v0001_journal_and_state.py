"""The journal of record, its head counter, and the key-value state.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

- ``journal``: one row per envelope; ``seq`` is assigned from ``journal_head`` inside the appending
  transaction (not from a sequence), so seqs are dense and become visible in commit order.
- ``journal_head``: one row holding the highest committed seq; appenders lock it, so commit order
  is seq order and a reader that moved past a seq can never see an older one appear later.
- ``kv``: state values (JSON bytes) by (namespace, key); keys collate "C" (byte order, as SQLite).
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables (in the schema on the search_path, set by env.py)."""
    op.execute("""
        CREATE TABLE journal (
            seq bigint PRIMARY KEY,
            source text COLLATE "C" NOT NULL,
            event_id text COLLATE "C" NOT NULL,
            type text COLLATE "C" NOT NULL,
            partition_key text COLLATE "C" NOT NULL,
            recorded_at double precision NOT NULL,
            digest bytea NOT NULL,
            body bytea NOT NULL,
            CONSTRAINT journal_identity UNIQUE (source, event_id)
        )""")
    op.execute("""
        CREATE TABLE journal_head (
            id smallint PRIMARY KEY CHECK (id = 1),
            seq bigint NOT NULL
        )""")
    op.execute("INSERT INTO journal_head (id, seq) VALUES (1, 0)")
    op.execute("""
        CREATE TABLE kv (
            ns text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,
            value bytea NOT NULL,
            PRIMARY KEY (ns, key)
        )""")


def downgrade() -> None:
    """Drop them."""
    op.execute("DROP TABLE kv")
    op.execute("DROP TABLE journal_head")
    op.execute("DROP TABLE journal")
