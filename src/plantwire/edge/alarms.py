"""Backlog alarms: when the outbox holds too many events or too old ones. Pure decisions.

An alarm is raised at the limit and cleared only below 80% of it, so a backlog hovering at the
limit does not flap. ``outbox-full`` is raised while intake is being refused for lack of space.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CLEAR_AT = 0.8


@dataclass(frozen=True)
class Backlog:
    """How much is waiting: unsettled events, and the age in seconds of the oldest one."""

    count: int
    oldest_age: float | None


def active_alarms(backlog: Backlog, max_count: int, max_age: float, outbox_full: bool,
                  active: frozenset[str]) -> frozenset[str]:
    """The alarms that are on after this observation, given those that were on before."""
    age = backlog.oldest_age or 0.0
    on = set()
    count_limit = max_count * (CLEAR_AT if "backlog-count" in active else 1.0)
    if backlog.count >= count_limit and backlog.count > 0:
        on.add("backlog-count")
    age_limit = max_age * (CLEAR_AT if "backlog-age" in active else 1.0)
    if backlog.count and age >= age_limit:
        on.add("backlog-age")
    if outbox_full:
        on.add("outbox-full")
    return frozenset(on)


def describe(kind: str, backlog: Backlog, max_count: int, max_age: float) -> str:
    """One sentence for the log, the status and the operator."""
    if kind == "backlog-count":
        return f"{backlog.count} events wait for the hub (alarm at {max_count})"
    if kind == "backlog-age":
        return (f"the oldest waiting event is {backlog.oldest_age or 0:.0f} s old "
                f"(alarm at {max_age:.0f} s)")
    return "intake is refused: the outbox is full (disk or --max-outbox-mb); local sources must hold on"


def alarm_event(agent: str, state: str, kind: str, detail: str, backlog: Backlog,
                now: float) -> dict[str, Any]:
    """The edge.alarm.raised / edge.alarm.cleared CloudEvent telling the hub about an alarm."""
    at = datetime.fromtimestamp(now, UTC).isoformat()
    data: dict[str, Any] = {"agent": agent, "kind": kind, "detail": detail, "backlog": backlog.count,
                            "at": at}
    if backlog.oldest_age is not None:
        data["oldest_age_seconds"] = f"{backlog.oldest_age:.3f}"
    return {"specversion": "1.0", "type": f"edge.alarm.{state}", "source": f"edge/{agent}",
            "id": f"{kind}/{state}/{int(now * 1000)}", "time": at, "datacontenttype": "application/json",
            "data": data}
