"""What the edge knows, read from the outbox file: one event's fate, and the agent's whole status.

Everything here reads the database (a read-only connection works), so `plantwire edge status`
answers the same while the agent runs, after it crashed, or while the link is down.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from plantwire.edge.alarms import Backlog
from plantwire.edge.outbox import ROW_COLUMNS, STATE_NAMES
from plantwire.edge.settings import PRIORITY_NAMES

STALE_AFTER = 5.0  # seconds without a heartbeat before the agent counts as not running
MEANING = {"pending": "kept at the edge, waiting for the hub link",
           "forwarded": "sent to the hub, waiting for its answer",
           "acknowledged": "journaled by the hub",
           "failed": "refused by the hub; see reason (kept here, not retried)"}


def event_status(conn: sqlite3.Connection, seq: int) -> dict[str, Any] | None:
    """The fate of one outbox row, as the status URL answers it."""
    row = conn.execute(f"SELECT {ROW_COLUMNS} FROM outbox WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else _row_dict(row)


def find_event(conn: sqlite3.Connection, source: str, event_id: str) -> dict[str, Any] | None:
    """The fate of the event with this identity, if the outbox still holds it."""
    row = conn.execute(f"SELECT {ROW_COLUMNS} FROM outbox WHERE source = ? AND event_id = ?",
                       (source, event_id)).fetchone()
    return None if row is None else _row_dict(row)


def _row_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    (seq, source, event_id, type_, pkey, prio, state, accepted, forwarded, done, attempts,
     hub_seq, reason) = row
    status = STATE_NAMES[state]
    out: dict[str, Any] = {"seq": seq, "source": source, "id": event_id, "type": type_,
                           "partitionkey": pkey, "priority": PRIORITY_NAMES.get(prio, str(prio)),
                           "status": status, "meaning": MEANING[status], "accepted_at": accepted,
                           "forwarded_at": forwarded, "attempts": attempts}
    if status == "acknowledged":
        out.update(hub_seq=hub_seq, acknowledged_at=done)
    if status == "failed":
        out.update(failed_at=done, reason=orjson.loads(reason) if reason and reason[:1] == "{" else reason)
    return out


def backlog_by_priority(conn: sqlite3.Connection, now: float) -> dict[str, dict[str, Any]]:
    """Unsettled events per priority: count and the age of the oldest (index-only except one seek)."""
    out: dict[str, dict[str, Any]] = {}
    rows = conn.execute("SELECT priority, COUNT(*), MIN(seq) FROM outbox WHERE state < 2 "
                        "GROUP BY priority ORDER BY priority").fetchall()
    for prio, count, first in rows:
        accepted = conn.execute("SELECT accepted_at FROM outbox WHERE seq = ?", (first,)).fetchone()[0]
        out[PRIORITY_NAMES.get(prio, str(prio))] = {"count": count, "oldest_age_s": round(now - accepted, 3)}
    return out


def total_backlog(by_priority: dict[str, dict[str, Any]]) -> Backlog:
    """The whole backlog: total count and the oldest age over all priorities."""
    ages = [v["oldest_age_s"] for v in by_priority.values()]
    return Backlog(sum(v["count"] for v in by_priority.values()), max(ages) if ages else None)


def read_meta(conn: sqlite3.Connection) -> dict[str, Any]:
    """The agent's persisted state (link, alarms, heartbeat, peak)."""
    return {name: orjson.loads(value) for name, value in conn.execute("SELECT name, value FROM meta")}


def full_status(conn: sqlite3.Connection, now: float, recent_failed: int = 10) -> dict[str, Any]:
    """Link state, backlog by priority and age, last forward, alarms, failed-at-hub events, sources."""
    meta = read_meta(conn)
    by_priority = backlog_by_priority(conn, now)
    total = total_backlog(by_priority)
    agent = meta.get("agent", {})
    beat = agent.get("heartbeat_at")
    failed_count = conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 3").fetchone()[0]
    failed_rows = conn.execute(f"SELECT {ROW_COLUMNS} FROM outbox WHERE state = 3 ORDER BY seq DESC "
                               "LIMIT ?", (recent_failed,)).fetchall()
    link = meta.get("link", {"state": "unknown"})
    sources = meta.get("sources", [])
    if beat is None or now - beat > STALE_AFTER:
        link = {**link, "state": "unknown (agent not running)"}
        sources = [{**s, "state": "unknown (agent not running)", "connected": False} for s in sources]
    return {
        "agent": {**agent, "running": beat is not None and now - beat <= STALE_AFTER},
        "link": link,
        "backlog": {"total": total.count, "oldest_age_s": total.oldest_age, "by_priority": by_priority,
                    "peak": max(meta.get("peak_backlog", 0), total.count)},
        "last_forward_at": link.get("last_forward_at"),
        "alarms": meta.get("alarms", {}),
        "failed_at_hub": {"count": failed_count, "recent": [_row_dict(r) for r in failed_rows]},
        "sources": sources,
    }
