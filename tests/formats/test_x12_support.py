"""Shared by the X12 tests: corpus location, parsing to events, and the emit-then-parse round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from plantwire.adapters.x12.ack import GroupAck, ack_body, read_997
from plantwire.adapters.x12.envelope import Parties, write
from plantwire.adapters.x12.mapping import Partner
from plantwire.adapters.x12.sink import emit_810, emit_850, emit_855, emit_856
from plantwire.adapters.x12.translate import approved_to_command, to_events
from plantwire.adapters.x12.validate import parse
from plantwire.domain.procurement import PurchaseOrderApproved, SupplierAcknowledged
from plantwire.domain.shipping import InvoiceReceived, ShipmentNotified

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "x12"
PARTNER = Partner()
MODELS: dict[str, type[BaseModel]] = {
    "procurement.po.approved": PurchaseOrderApproved,
    "procurement.supplier.acknowledged": SupplierAcknowledged,
    "procurement.shipment.notified": ShipmentNotified,
    "finance.invoice.received": InvoiceReceived,
}


def events_of(data: bytes, partner: Partner = PARTNER) -> list[dict[str, Any]]:
    """Every canonical event of a file (raises InvalidEvent when any part is invalid)."""
    return [event for ic in parse(data) for group in ic.groups for tset in group.sets
            for event in to_events(ic, group, tset, partner)]


def acks_of(data: bytes) -> list[GroupAck]:
    """Every 997 answer a file carries."""
    return [read_997(tset) for ic in parse(data) for group in ic.groups for tset in group.sets
            if tset.id == "997"]


def emit(event: dict[str, Any], key: str = "round-trip") -> bytes:
    """The X12 interchange our emitters write for a canonical event."""
    model = MODELS[event["type"]].model_validate(event["data"])
    if isinstance(model, PurchaseOrderApproved):
        cmd, at = approved_to_command(model)
        return emit_850(cmd, PARTNER, key, at)
    if isinstance(model, SupplierAcknowledged):
        return emit_855(model, PARTNER, key)
    if isinstance(model, ShipmentNotified):
        return emit_856(model, PARTNER, key)
    assert isinstance(model, InvoiceReceived)
    return emit_810(model, PARTNER, key)


def same_document(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two events carry the same canonical document (same type, id and data, compared as models)."""
    model = MODELS[a["type"]]
    return (a["type"], a["id"]) == (b["type"], b["id"]) and \
        model.model_validate(a["data"]) == model.model_validate(b["data"])


def round_trip_event(event: dict[str, Any]) -> dict[str, Any]:
    """Emit an event as X12 and parse it back to the one event it must give."""
    (back,) = events_of(emit(event))
    return back


def round_trip_997(ack: GroupAck, version: str = "004010") -> GroupAck:
    """Write a 997 answer and read it back."""
    parties = Parties("ZZ", "US", "ZZ", "THEM")
    data = write([("997", ack_body(ack, version))], parties=parties, functional_id="FA", version=version,
                 control="000000001", date="20240101", time="1200")
    (back,) = acks_of(data)
    return back
