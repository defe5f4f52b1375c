"""The X12 HTTP mailbox pieces without processes: role URLs, the sink's idempotency and errors, and
the supplier simulator's EDI channel in-process (850 in once, 997 and 855 out, broken sets refused)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from plantwire.adapters.x12.http_client import MailboxClient, is_mailbox_url, mailbox
from plantwire.adapters.x12.sink import X12HttpSink, emit_850
from plantwire.adapters.x12.source import receive
from plantwire.clocks import ManualClock
from plantwire.domain.commands import SendPurchaseOrder
from plantwire.errors import ConfigurationError, TargetUnavailable
from plantwire.ports import Command
from plantwire.simulators.supplier import create_app

PO = {"po_number": "4500000009", "revision": 0, "plant": "1000", "supplier_id": "SUP-200", "currency": "EUR",
      "lines": [{"line": 10, "item_id": "RM-HOUSING-A", "quantity": {"value": "5", "uom": "EA"},
                 "delivery_date": "2030-01-10"}]}
SEND = Command("supplier", "send_purchase_order", PO)


def test_role_url_names_base_and_partner() -> None:
    assert is_mailbox_url("x12+http://h:1") and not is_mailbox_url("http://h:1")
    base, partner = mailbox("x12+https://edi.example:8443/acme/?partner=ACME&us=PLANT1&usage=T")
    assert base == "https://edi.example:8443/acme"
    assert (partner.partner_id, partner.our_id, partner.usage) == ("ACME", "PLANT1", "T")
    with pytest.raises(ConfigurationError):
        mailbox("x12+http://h:1?usage=X")


def sink_with(handler: httpx.MockTransport) -> X12HttpSink:
    client = MailboxClient("http://mailbox")
    client.http = httpx.Client(base_url="http://mailbox", transport=handler)
    return X12HttpSink(client, mailbox("x12+http://mailbox")[1], ManualClock())


def test_sink_posts_the_same_control_number_for_a_key_and_retries_on_5xx() -> None:
    bodies: list[bytes] = []
    answers = iter([500, 202, 202])

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(next(answers), json={"duplicate": len(bodies) > 2})

    sink = sink_with(httpx.MockTransport(handle))
    with pytest.raises(TargetUnavailable):
        sink.execute("po-key-1", SEND)
    first = sink.execute("po-key-1", SEND)
    again = sink.execute("po-key-1", SEND)
    isa13 = {b.decode().split("*")[13] for b in bodies}
    assert len(isa13) == 1 and first["document"] == again["document"] == isa13.pop()
    assert again["duplicate"] is True


def test_sink_connection_error_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TargetUnavailable):
        sink_with(httpx.MockTransport(refuse)).execute("k", SEND)


def test_simulator_channel_in_process(tmp_path: Path) -> None:
    partner = mailbox("x12+http://sim")[1]
    data = emit_850(SendPurchaseOrder.model_validate(PO), partner, "k-9", datetime.now(UTC))
    other = emit_850(SendPurchaseOrder.model_validate(PO), partner, "k-10", datetime.now(UTC))
    broken = other.replace(b"SE*", b"SE*9", 1)  # another interchange whose SE01 says 9x segments
    with TestClient(create_app(tmp_path)) as sim:
        sim.put("/admin/rules", json={"ackDelaySeconds": 3600})
        assert sim.post("/edi/inbound", content=data).json()["sets"][0]["status"] == "A"
        assert sim.post("/edi/inbound", content=data).json()["duplicate"] is True
        refused = sim.post("/edi/inbound", content=broken)
        assert sim.post("/edi/inbound", content=b"not x12").status_code == 400
        sim.post("/admin/purchase-orders/4500000009/ack").raise_for_status()
        docs = sim.get("/edi/outbound").json()["documents"]
        counts = sim.get("/admin/counts").json()["edi"]
    assert refused.status_code == 202 and refused.json()["sets"][0]["code"] == "4"
    assert [d["set"] for d in docs] == ["997", "997", "855"]
    assert counts == {"850_received": 1, "997_sent": 2, "855_sent": 1, "997_received": 0, "rejected": 2,
                      "duplicates": 1}
    result = receive(docs[2]["x12"].encode(), partner, datetime.now(UTC))
    assert result.accepted and result.events[0]["data"]["lines"][0]["status"] == "accepted"
    assert "AK5*R*4" in docs[1]["x12"]
