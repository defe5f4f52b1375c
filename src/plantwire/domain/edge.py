"""Events the plant edge agent reports about itself."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from plantwire.domain.events import BusinessTime, EventData, Text
from plantwire.domain.master import Identifier

__all__ = ["AlarmKind", "EdgeAlarm"]


class AlarmKind(StrEnum):
    """Why an edge agent is worried about losing its link's backlog."""

    BACKLOG_COUNT = "backlog-count"
    BACKLOG_AGE = "backlog-age"
    OUTBOX_FULL = "outbox-full"


class EdgeAlarm(EventData):
    """An edge agent raised or cleared a backlog alarm (edge.alarm.raised / edge.alarm.cleared v1)."""

    agent: Identifier
    kind: AlarmKind
    detail: Text
    backlog: Annotated[int, Field(ge=0)]
    oldest_age_seconds: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=3)] | None = None
    at: BusinessTime
