"""The supplier simulator as a real process: PO dedupe, acknowledgment rules, ASNs, delay notices."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plantwire.simulators.testing import SimProcess, WebhookReceiver


@pytest.fixture(scope="module")
def supplier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    sim = SimProcess("supplier", tmp_path_factory.mktemp("supplier") / "data").start()
    try:
        with sim.client() as client:
            client.put(
                "/admin/rules",
                json={
                    "ackDelaySeconds": 0.1,
                    "default": "accept",
                    "parts": {
                        "HSG-A1": {"action": "change", "quantity": 80, "shiftDays": 3, "reason": "capacity"},
                        "SEAL-9": {"action": "reject", "reason": "discontinued"},
                    },
                },
            )
            yield client
    finally:
        sim.kill()


def po(number: str, revision: int = 0) -> dict[str, Any]:
    return {
        "buyerPoNumber": number,
        "revision": revision,
        "buyer": "PLANTWIRE-1000",
        "currency": "EUR",
        "lines": [
            {
                "lineNo": 10,
                "supplierPart": "HSG-A1",
                "quantity": 100,
                "unit": "PCE",
                "unitPrice": "12.50",
                "requestedDate": "2030-01-10",
            },
            {"lineNo": 20, "supplierPart": "SEAL-9", "quantity": 50, "requestedDate": "2030-01-10"},
            {"lineNo": 30, "supplierPart": "BOLT-M8", "quantity": 400, "requestedDate": "2030-01-10"},
        ],
    }


def acked(client: httpx.Client, number: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while (order := client.get(f"/api/purchase-orders/{number}").json())["acknowledgment"] is None:
        assert time.monotonic() < deadline, "no acknowledgment"
        time.sleep(0.05)
    result: dict[str, Any] = order["acknowledgment"]
    return result


def test_same_po_and_revision_is_one_order(supplier: httpx.Client) -> None:
    before = supplier.get("/admin/counts").json()
    first = supplier.post("/api/purchase-orders", json=po("4500000101"))
    again = supplier.post("/api/purchase-orders", json=po("4500000101"))
    assert first.status_code == 202 and again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["orderId"] == first.json()["orderId"]
    acked(supplier, "4500000101")
    counts = supplier.get("/admin/counts").json()
    assert counts["orders"] == before["orders"] + 1
    assert counts["acknowledgments"] == before["acknowledgments"] + 1


def test_acknowledgment_follows_the_rules_per_line(supplier: httpx.Client) -> None:
    supplier.post("/api/purchase-orders", json=po("4500000102"))
    ack = acked(supplier, "4500000102")
    assert ack["status"] == "PARTIAL" and ack["ackId"] == "ACK-4500000102-0"
    lines = {ln["lineNo"]: ln for ln in ack["lines"]}
    assert (lines[10]["status"], lines[10]["confirmedQuantity"], lines[10]["confirmedDate"]) == (
        "CHANGED",
        80,
        "2030-01-13",
    )
    assert (lines[20]["status"], lines[20]["reason"]) == ("REJECTED", "discontinued")
    assert (lines[30]["status"], lines[30]["confirmedQuantity"]) == ("ACCEPTED", 400)


def test_new_revision_is_acknowledged_again_and_stale_ones_refused(supplier: httpx.Client) -> None:
    supplier.post("/api/purchase-orders", json=po("4500000103"))
    acked(supplier, "4500000103")
    assert supplier.post("/api/purchase-orders", json=po("4500000103", revision=1)).status_code == 202
    assert acked(supplier, "4500000103")["revision"] == 1
    stale = supplier.post("/api/purchase-orders", json=po("4500000103", revision=0))
    assert stale.status_code == 409 and stale.json()["error"] == "STALE_REVISION"


def test_asn_and_delay_notice_are_pushed(supplier: httpx.Client) -> None:
    with WebhookReceiver() as receiver:
        hook = supplier.post(
            "/admin/webhooks", json={"url": receiver.url, "types": ["ORDRSP", "DESADV", "DELAY_NOTICE"]}
        ).json()
        supplier.post("/api/purchase-orders", json=po("4500000104"))
        receiver.wait_for(lambda got: any(m["messageType"] == "ORDRSP" for m in got))
        delay = supplier.post(
            "/admin/purchase-orders/4500000104/delay", json={"newDate": "2030-01-20"}
        ).json()
        asn = supplier.post("/admin/purchase-orders/4500000104/ship", json={}).json()
        assert [(ln["lineNo"], ln["quantity"]) for ln in asn["lines"]] == [(10, 80), (30, 400)]
        assert supplier.post("/admin/purchase-orders/4500000104/ship", json={}).status_code == 409
        receiver.wait_for(lambda got: len(got) >= 3)
        types = [m["messageType"] for m in receiver.received]
        assert types == ["ORDRSP", "DELAY_NOTICE", "DESADV"]
        assert receiver.received[1]["content"]["noticeId"] == delay["noticeId"]
        assert receiver.received[2]["content"]["asnNumber"] == asn["asnNumber"]
        supplier.delete(f"/admin/webhooks/{hook['id']}")
