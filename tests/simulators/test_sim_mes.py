"""The MES simulator as a real process: order download, production runs, consumption and reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plantwire.simulators.testing import SimProcess


@pytest.fixture(scope="module")
def mes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    sim = SimProcess("mes", tmp_path_factory.mktemp("mes") / "data").start()
    try:
        with sim.client() as client:
            yield client
    finally:
        sim.kill()


def download(order: str, qty: float = 10, revision: int = 0) -> dict[str, Any]:
    return {
        "erpOrderNumber": order,
        "revision": revision,
        "partNumber": "P-7731",
        "quantity": qty,
        "uom": "pcs",
        "dueDate": "2026-12-01",
        "line": "LINE-2",
        "bom": [
            {"partNumber": "P-1001", "quantity": qty, "uom": "pcs", "location": "LS-01"},
            {"partNumber": "P-2040", "quantity": qty * 0.25, "uom": "kg", "location": "LS-02"},
        ],
    }


def events_of(client: httpx.Client, wo_id: str) -> list[dict[str, Any]]:
    events = client.get("/events", params={"limit": 1000}).json()["events"]
    return [e for e in events if e["payload"].get("woId") == wo_id]


def test_download_is_deduplicated_by_erp_order_and_revision(mes: httpx.Client) -> None:
    before = mes.get("/admin/counts").json()["work_orders"]["total"]
    first = mes.post("/api/v1/work-orders", json=download("000001000001"))
    again = mes.post("/api/v1/work-orders", json=download("000001000001"))
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["woId"].startswith("WO-") and again.json()["woId"] == first.json()["woId"]
    assert again.json()["duplicate"] is True
    changed = mes.post("/api/v1/work-orders", json=download("000001000001", qty=12, revision=1))
    assert changed.status_code == 200 and changed.json()["quantity"] == 12
    assert mes.get("/admin/counts").json()["work_orders"]["total"] == before + 1
    types = [e["eventType"] for e in events_of(mes, first.json()["woId"])]
    assert types == ["WorkOrderDownloaded", "WorkOrderUpdated"]


def test_partial_then_final_run_reports_and_consumes_everything(mes: httpx.Client) -> None:
    wo = mes.post("/api/v1/work-orders", json=download("000001000002", qty=10)).json()["woId"]
    partial = mes.post(f"/admin/work-orders/{wo}/run", json={"goodQty": 4, "final": False, "lot": "FG-LOT-1"})
    assert partial.status_code == 200
    assert mes.get(f"/api/v1/work-orders/{wo}").json()["status"] == "RUNNING"
    final = mes.post(
        f"/admin/work-orders/{wo}/run",
        json={"scrapQty": 1, "lot": "FG-LOT-1", "componentLots": {"P-1001": "SUP-L77"}},
    ).json()
    reports = [m for m in final["messages"] if m["messageId"].startswith("PR-")]
    assert [(r["goodQty"], r["scrapQty"], r["final"]) for r in reports] == [(5, 1, True)]
    order = mes.get(f"/api/v1/work-orders/{wo}").json()
    assert (order["status"], order["goodQty"], order["scrapQty"]) == ("COMPLETED", 9, 1)
    assert [(c["partNumber"], c["consumed"]) for c in order["bom"]] == [("P-1001", 10), ("P-2040", 2.5)]
    lots = {
        m["lot"]
        for m in final["messages"]
        if m["messageId"].startswith("CM-") and m["partNumber"] == "P-1001"
    }
    assert lots == {"SUP-L77"}
    types = [e["eventType"] for e in events_of(mes, wo)]
    assert types[0] == "WorkOrderDownloaded" and types[1] == "WorkOrderStarted"
    assert types[-1] == "WorkOrderCompleted" and types.count("ProductionReported") == 2
    assert types.count("MaterialConsumed") == 4
    again = mes.post(f"/admin/work-orders/{wo}/run", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "WO_CLOSED"


def test_a_run_split_into_partial_reports(mes: httpx.Client) -> None:
    wo = mes.post("/api/v1/work-orders", json=download("000001000003", qty=9)).json()["woId"]
    result = mes.post(f"/admin/work-orders/{wo}/run", json={"reports": 3}).json()
    reports = [m for m in result["messages"] if m["messageId"].startswith("PR-")]
    assert [(r["goodQty"], r["final"]) for r in reports] == [(3, False), (3, False), (3, True)]
    messages = mes.get(f"/api/v1/work-orders/{wo}/messages").json()
    assert len(messages["productionReports"]) == 3 and len(messages["consumptions"]) == 6
    assert sum(c["quantity"] for c in messages["consumptions"] if c["partNumber"] == "P-1001") == 9


def test_invalid_downloads_are_refused(mes: httpx.Client) -> None:
    bad_unit = {**download("000001000004"), "uom": "ST"}
    answer = mes.post("/api/v1/work-orders", json=bad_unit)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "UNKNOWN_UOM"
    assert mes.get("/api/v1/work-orders/WO-999").status_code == 404
