"""Which outbox rows go to the hub next: higher priority first, never ahead of an older one of its key.

The rule, per key: an event may be sent only together with (and after) every older unsettled event
of the same key. So a high-priority event pulls its key's older routine events along in front of
everything else (priority inheritance), and per-key order holds across priorities and batches.
Each step is one index seek on the partial indexes ``outbox_queue`` and ``outbox_key``.
"""

from __future__ import annotations

import sqlite3

NEXT_LEVEL = "SELECT priority FROM outbox WHERE state < 2 AND priority > ? ORDER BY priority, seq LIMIT 1"
HEADS = "SELECT seq, pkey FROM outbox WHERE state < 2 AND priority = ? ORDER BY seq LIMIT ?"
PREFIX = "SELECT seq FROM outbox WHERE state < 2 AND pkey = ? AND seq <= ? ORDER BY seq LIMIT ?"


def levels(conn: sqlite3.Connection) -> list[int]:
    """The priorities that have unsettled rows, highest (smallest number) first."""
    found: list[int] = []
    last = -(2**62)
    while (row := conn.execute(NEXT_LEVEL, (last,)).fetchone()) is not None:
        last = int(row[0])
        found.append(last)
    return found


def choose_batch(conn: sqlite3.Connection, limit: int) -> list[int]:
    """Outbox seqs to send, in sending order (at most `limit`)."""
    chosen: dict[int, None] = {}  # insertion-ordered set
    for level in levels(conn):
        for seq, pkey in conn.execute(HEADS, (level, limit)).fetchall():
            if seq in chosen:
                continue
            room = limit - len(chosen)
            prefix = [s for (s,) in conn.execute(PREFIX, (pkey, seq, room + len(chosen) + 1))
                      if s not in chosen]
            if len(prefix) > room:
                if not chosen:  # one key's backlog is bigger than a batch: send its oldest part
                    chosen.update(dict.fromkeys(prefix[:room]))
                return list(chosen)
            chosen.update(dict.fromkeys(prefix))
            if len(chosen) >= limit:
                return list(chosen)
    return list(chosen)
