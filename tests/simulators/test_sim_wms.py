"""The WMS simulator as a real process: staging, put-away, receipts, holds, idempotency, timers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plantwire.simulators.testing import SimProcess


@pytest.fixture(scope="module")
def wms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    sim = SimProcess("wms", tmp_path_factory.mktemp("wms") / "data").start()
    try:
        with sim.client() as client:
            client.put("/admin/settings", json={"autoConfirmSeconds": None})
            yield client
    finally:
        sim.kill()


def seed(client: httpx.Client, sku: str, qty: float, lot: str, bin_: str = "01-01-01") -> dict[str, Any]:
    result: dict[str, Any] = client.post(
        "/admin/stock", json={"sku": sku, "qty": qty, "lot": lot, "bin": bin_}
    ).json()
    return result


def test_staging_is_idempotent_and_confirmation_completes_it(wms: httpx.Client) -> None:
    seed(wms, "SKU-10011", 6, "L1")
    seed(wms, "SKU-10011", 10, "L2", "01-02-03")
    before = wms.get("/admin/counts").json()["requests"].get("STAGING", 0)
    request = {"orderRef": "WO-100001", "lineBin": "90-01-01", "items": [{"sku": "SKU-10011", "qty": 8}]}
    first = wms.post("/api/staging-requests", json=request, headers={"Idempotency-Key": "stage-1"})
    again = wms.post("/api/staging-requests", json=request, headers={"Idempotency-Key": "stage-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    tasks = first.json()["tasks"]
    assert [(t["lot"], t["qty"], t["fromBin"]) for t in tasks] == [
        ("L1", 6, "01-01-01"),
        ("L2", 2, "01-02-03"),
    ]
    assert wms.get("/admin/counts").json()["requests"]["STAGING"] == before + 1
    confirmed = wms.post("/admin/tasks/confirm-all", json={"orderRef": "WO-100001"}).json()["confirmed"]
    assert {t["status"] for t in confirmed} == {"CONFIRMED"}
    line = wms.get("/api/stock", params={"bin": "90-01-01", "sku": "SKU-10011"}).json()
    assert sum(h["qty"] for h in line["handlingUnits"]) == 8
    assert (
        wms.get("/api/stock", params={"sku": "SKU-10011", "lot": "L2", "bin": "01-02-03"}).json()[
            "handlingUnits"
        ][0]["qty"]
        == 8
    )
    types = [e["event"] for e in wms.get("/events", params={"limit": 1000}).json()["events"]]
    assert types.count("TASK_CONFIRMED") == 2 and types[-1] == "STAGING_COMPLETED"


def test_staging_without_enough_stock_creates_nothing(wms: httpx.Client) -> None:
    before = wms.get("/admin/counts").json()["tasks"]
    refused = wms.post(
        "/api/staging-requests",
        json={"items": [{"sku": "SKU-NONE", "qty": 1}]},
        headers={"Idempotency-Key": "stage-none"},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "INSUFFICIENT_STOCK"
    assert wms.get("/admin/counts").json()["tasks"] == before
    seed(wms, "SKU-NONE", 1, "LX")
    retried = wms.post(
        "/api/staging-requests",
        json={"items": [{"sku": "SKU-NONE", "qty": 1}]},
        headers={"Idempotency-Key": "stage-none"},
    )
    assert retried.status_code == 201  # a refusal is not remembered: the retry succeeds once stock is there


def test_tasks_confirm_by_themselves_after_the_delay(wms: httpx.Client) -> None:
    wms.put("/admin/settings", json={"autoConfirmSeconds": 0.1})
    try:
        answer = wms.post(
            "/api/putaway-requests",
            json={"orderRef": "WO-100002", "sku": "SKU-90001", "qty": 5, "lot": "FG-1"},
            headers={"Idempotency-Key": "pa-1"},
        )
        task_id = answer.json()["tasks"][0]["taskId"]
        deadline = time.monotonic() + 5
        while wms.get(f"/api/tasks/{task_id}").json()["status"] != "CONFIRMED":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        hu = wms.get(f"/api/handling-units/{answer.json()['tasks'][0]['huId']}").json()
        assert hu["bin"].startswith("02-") and hu["status"] == "AVAILABLE"
    finally:
        wms.put("/admin/settings", json={"autoConfirmSeconds": None})


def test_receipt_and_quality_hold_by_lot(wms: httpx.Client) -> None:
    receipt = {
        "asnNumber": "ASN-000001",
        "poNumber": "4500000001",
        "lines": [
            {"sku": "SKU-20027", "qty": 40, "lot": "ACME-7"},
            {"sku": "SKU-20035", "qty": 5, "lot": "ACME-7"},
        ],
    }
    first = wms.post("/api/receipts", json=receipt, headers={"Idempotency-Key": "rcv-1"})
    assert first.status_code == 201 and len(first.json()["lines"]) == 2
    assert wms.post("/api/receipts", json=receipt, headers={"Idempotency-Key": "rcv-1"}).status_code == 200
    assert wms.post("/api/receipts", json=receipt).status_code == 409  # same ASN, no key: refused
    block = wms.post(
        "/api/inventory/blocks", json={"lot": "ACME-7", "reason": "QC"}, headers={"Idempotency-Key": "b1"}
    )
    assert len(block.json()["handlingUnits"]) == 2
    held = wms.get("/api/stock", params={"lot": "ACME-7"}).json()["totals"]
    assert {t["status"] for t in held} == {"HOLD"}
    refused = wms.post("/api/staging-requests", json={"items": [{"sku": "SKU-20027", "qty": 1}]})
    assert refused.status_code == 409
    wms.post("/api/inventory/unblocks", json={"lot": "ACME-7"}, headers={"Idempotency-Key": "u1"})
    assert {t["status"] for t in wms.get("/api/stock", params={"lot": "ACME-7"}).json()["totals"]} == {
        "AVAILABLE"
    }
    types = [e["event"] for e in wms.get("/events", params={"limit": 1000}).json()["events"]]
    assert (
        types.count("GOODS_RECEIVED") == 1 and "INVENTORY_BLOCKED" in types and "INVENTORY_UNBLOCKED" in types
    )
