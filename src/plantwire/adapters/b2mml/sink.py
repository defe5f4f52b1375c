"""The B2MML sink: canonical commands and completions out as B2MML documents.

The emit functions are pure (bytes in, bytes out, time passed in) and their output validates
against the release's XSD. `B2mmlSink` carries out ``mes.download_order`` by writing a
ProcessProductionSchedule (V0600) or ProcessOperationsSchedule (V0701) to the outbox, named after
the idempotency key and carrying it as BODID, so a retried command never writes a second document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from plantwire.adapters._xml import parse_xml
from plantwire.adapters.b2mml.client import B2mmlFolder
from plantwire.adapters.b2mml.schemas import SchemaSet, Version
from plantwire.adapters.b2mml.translate import completion_bodies, order_bodies
from plantwire.adapters.b2mml.writer import Header, write_document
from plantwire.domain.commands import DownloadProductionOrder
from plantwire.domain.production import ComponentConsumed, ProductionGoodsCompleted, ProductionOrderReleased
from plantwire.errors import InvalidEvent, Issue, PermanentError
from plantwire.ports import Clock, Command

__all__ = ["B2mmlSink", "emit_order_released", "emit_production_performance", "emit_production_schedule"]

SENDER = "plantwire"
"""ApplicationArea/Sender/LogicalID of what plantwire emits."""


def _stamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("created_at must carry its UTC offset")
    return at.isoformat()


def emit_production_schedule(cmd: DownloadProductionOrder, *, created_at: datetime,
                             version: Version = Version.V0600, key: str | None = None,
                             start: datetime | None = None, end: datetime | None = None) -> bytes:
    """ProcessProductionSchedule (V0600) / ProcessOperationsSchedule (V0701) for a download command."""
    window = (_stamp(start) if start else None, _stamp(end) if end else None)
    bodies = order_bodies(cmd.model_dump(mode="json"), version, *window)
    return write_document(version, Header("Process", SENDER, _stamp(created_at), key), bodies)


def emit_order_released(order: ProductionOrderReleased, *, created_at: datetime,
                        version: Version = Version.V0600, key: str | None = None) -> bytes:
    """The schedule for a released order, with its times and components' operations."""
    bodies = order_bodies(order.model_dump(mode="json"), version)
    return write_document(version, Header("Process", SENDER, _stamp(created_at), key), bodies)


def emit_production_performance(completed: ProductionGoodsCompleted,
                                consumed: Sequence[ComponentConsumed] = (), *, created_at: datetime,
                                version: Version = Version.V0600, key: str | None = None) -> bytes:
    """SyncProductionPerformance (V0600) / SyncOperationsPerformance (V0701) for a completion and
    the consumptions reported with it (one response each)."""
    lines = [c.model_dump(mode="json") for c in consumed]
    bodies = completion_bodies(completed.model_dump(mode="json"), lines, version)
    return write_document(version, Header("Sync", SENDER, _stamp(created_at), key), bodies)


def file_name(idempotency_key: str) -> str:
    """A safe, stable outbox file name for an idempotency key."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", idempotency_key)[:180] + ".xml"


class B2mmlSink:
    """Carries out ("mes", "download_order") by dropping a B2MML schedule into the outbox."""

    def __init__(self, folder: B2mmlFolder, clock: Clock, version: Version = Version.V0600,
                 schemas: SchemaSet | None = None) -> None:
        self.folder, self.clock, self.version = folder, clock, version
        self.schemas = schemas or SchemaSet()

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """Write the schedule once per key; a retry answers the document already written."""
        if (command.target, command.name) != ("mes", "download_order"):
            raise PermanentError(f"the B2MML sink cannot execute {command.target}.{command.name}")
        try:
            cmd = DownloadProductionOrder.model_validate(command.payload)
        except ValidationError as bad:
            raise InvalidEvent([Issue("$." + ".".join(str(p) for p in e["loc"]), e["type"], e["msg"])
                                for e in bad.errors()]) from None
        at = datetime.fromtimestamp(self.clock.now(), tz=UTC)
        data = emit_production_schedule(cmd, created_at=at, version=self.version, key=idempotency_key)
        self.schemas.validate(parse_xml(data), self.version)
        path, existed = self.folder.write(file_name(idempotency_key), data)
        return {"document": path.name, "duplicate": existed}
