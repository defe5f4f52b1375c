"""Shared by the EDIFACT tests: canonical document -> EDIFACT -> canonical document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plantwire.adapters.edifact.envelope import read_interchange, require_valid
from plantwire.adapters.edifact.outbound import interchange
from plantwire.adapters.edifact.syntax import Segment
from plantwire.adapters.edifact.translate import (
    Partner,
    desadv_body,
    invoic_body,
    ordrsp_body,
    to_event,
)
from plantwire.domain.catalog import CATALOG

KINDS = {"procurement.supplier.acknowledged": "ORDRSP", "procurement.shipment.notified": "DESADV",
         "finance.invoice.received": "INVOIC"}


def body_for(type_: str, model: Any, at: datetime) -> bytes:
    """The interchange bytes of one canonical document."""
    if type_ == "procurement.po.approved":
        from plantwire.adapters.edifact.sink import emit_orders
        from plantwire.domain.commands import SendPurchaseOrder

        cmd = SendPurchaseOrder.model_validate(
            {k: v for k, v in model.model_dump().items() if k != "approved_at"}
            | {"lines": [{k: v for k, v in ln.model_dump().items() if k != "storage_location"}
                         for ln in model.lines]})
        return emit_orders(cmd, key="k", sender="US", recipient=model.supplier_id, at=model.approved_at)
    bodies: dict[str, Any] = {"ORDRSP": ordrsp_body, "DESADV": desadv_body, "INVOIC": invoic_body}
    segments: list[Segment] = bodies[KINDS[type_]](model)
    return interchange([(KINDS[type_], segments)], sender="THEM", recipient="US", ref="R1", at=at)


def parse_back(type_: str, data: bytes, partner: Partner) -> Any:
    """The canonical model parsed from interchange bytes."""
    ic = require_valid(read_interchange(data))
    event = to_event(ic, ic.messages[0], partner)
    assert event is not None and event["type"] == type_
    return CATALOG.get(type_, "1").model.model_validate(event["data"])  # type: ignore[union-attr]
