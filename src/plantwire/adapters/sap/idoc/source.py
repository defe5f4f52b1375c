"""The IDoc source: IDoc XML pushed by SAP (or dropped as files) -> canonical events -> the intake.

Whoever receives the bytes (an HTTP endpoint, a folder watcher) calls `IdocSource.receive` and
acknowledges its sender only when it returns; a refused document raises InvalidEvent with its XPath.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plantwire.adapters._xml import local_name, parse_xml
from plantwire.adapters.sap.idoc import translate as t
from plantwire.adapters.sap.mapping import SapMapping
from plantwire.errors import InvalidEvent, Issue
from plantwire.ports import Intake

Json = dict[str, Any]
INBOUND: dict[str, Callable[[bytes, SapMapping], list[Json]]] = {
    "LOIPRO01": t.loipro_events,
    "ORDERS05": t.ordrsp_events,
    "DELVRY07": t.desadv_events,
}


def events_of(payload: bytes, m: SapMapping) -> list[Json]:
    """The canonical events of one inbound IDoc, chosen by its basic type."""
    basic = local_name(parse_xml(payload).tag)
    translate = INBOUND.get(basic)
    if translate is None:
        raise InvalidEvent(
            [Issue(f"/{basic}", "idoc-type", f"no inbound mapping for {basic}; known: {', '.join(INBOUND)}")]
        )
    return translate(payload, m)


class IdocSource:
    """Turns received IDocs into events and hands them to the intake (durable when it returns)."""

    def __init__(self, intake: Intake, mapping: SapMapping | None = None) -> None:
        self.intake, self.mapping = intake, mapping or SapMapping()

    async def receive(self, payload: bytes) -> list[Json]:
        """Receipts for the events of one IDoc."""
        return await self.intake.accept(events_of(payload, self.mapping))
