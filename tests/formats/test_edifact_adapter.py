"""The EDIFACT source and sink: events to the intake, CONTRL back, ORDERS out once per key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plantwire.adapters.edifact.client import FolderClient
from plantwire.adapters.edifact.envelope import read_interchange, require_valid
from plantwire.adapters.edifact.sink import EdifactSink
from plantwire.adapters.edifact.source import EdifactSource
from plantwire.adapters.edifact.translate import Partner
from plantwire.domain.catalog import CATALOG
from plantwire.ports import Command
from plantwire.service.validation import validate_event

AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
CMD = {"po_number": "4500010001", "revision": 1, "plant": "1000", "supplier_id": "SUP-100", "currency": "EUR",
       "lines": [{"line": 10, "item_id": "RM-SEAL-KIT", "quantity": {"value": "12", "uom": "EA"},
                  "delivery_date": "2026-11-30", "unit_price": "4.50"}]}


class ListIntake:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def accept(self, events: Any) -> list[dict[str, Any]]:
        self.events += list(events)
        return [{"status": "accepted"} for _ in events]


def test_sink_writes_orders_once_and_source_reads_it_back(tmp_path: Path) -> None:
    client = FolderClient(tmp_path, tmp_path)
    sink = EdifactSink(client, our_id="PLANTWIRE", partner_id="SUP-100")
    first = sink.execute("po/4500010001/1", Command("supplier", "send_purchase_order", CMD), AT)
    again = sink.execute("po/4500010001/1", Command("supplier", "send_purchase_order", CMD), AT)
    assert first == again and len(list(tmp_path.glob("ORDERS_*.edi"))) == 1
    data = (tmp_path / first["file"]).read_bytes()
    assert require_valid(read_interchange(data)).messages[0].type == "ORDERS"
    intake = ListIntake()
    received = asyncio.run(EdifactSource(intake, partner=Partner(), our_id="SUP-100").receive(data, AT))
    assert received.accepted and len(intake.events) == 1
    event = intake.events[0]
    assert event["id"] == "ORDERS/4500010001/rev-1" and event["source"] == "edifact/PLANTWIRE"
    assert validate_event(event, CATALOG).envelope.data["lines"][0]["unit_price"] == "4.5"
    contrl = require_valid(read_interchange(received.contrl))
    uci, ucm = contrl.messages[0].body[:2]
    assert (uci.tag, uci.get(4), ucm.tag, ucm.get(3)) == ("UCI", "7", "UCM", "7")


def test_rejected_interchange_hands_nothing_to_the_intake() -> None:
    bad = (b"UNB+UNOC:3+A+B+260101:1200+R1'UNH+1+INVOIC:D:96A:UN'BGM+380+I1+9'DTM+137:20260101:102'"
           b"NAD+SU+S1'UNS+S'MOA+86:10'UNT+7+1'UNZ+1+R1'")
    intake = ListIntake()
    source = EdifactSource(intake, partner=Partner(currency="EUR"), our_id="US")
    received = asyncio.run(source.receive(bad, AT))
    assert intake.events == [] and not received.accepted
    assert received.error().issues[0].path.startswith("segment 2 (UNH)")  # no lines
    body = read_interchange(received.contrl).messages[0].body
    assert [s.tag for s in body] == ["UCI", "UCM", "UCS"] and body[0].get(4) == "4"
