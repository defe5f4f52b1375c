"""Records the simulators' feeds for the pure translate tests: `python tests/adapters_sims/record.py`.

Starts the four simulators on temporary data directories, drives a small plant day through their
admin and business APIs, and writes each feed to recorded/<system>.json.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import httpx

from plantwire.simulators.testing import SimProcess

HERE = Path(__file__).parent / "recorded"


def drive_erp(c: httpx.Client) -> None:
    c.post(
        "/admin/purchase-orders",
        json={
            "LIFNR": "0000100200",
            "ITEMS": [
                {"MATNR": "20000011", "MENGE": 100, "NETPR": "12.50", "EINDT": "2026-12-04"},
                {"MATNR": "30000001", "MENGE": "50.5", "NETPR": "3.10", "EINDT": "2026-12-05"},
            ],
        },
    ).raise_for_status()
    c.post(
        "/admin/production-orders",
        json={"MATNR": "10000100", "GAMNG": 20, "GSTRP": "2026-11-27", "GLTRP": "2026-11-28"},
    ).raise_for_status()
    c.post(
        "/api/goods-movements",
        json={
            "GOODSMVT_HEADER": {"REF_DOC_NO": "seed-1"},
            "ITEMS": [{"BWART": "561", "MATNR": "20000011", "WERKS": "1000", "LGORT": "RM01", "ERFMG": 40}],
        },
    ).raise_for_status()


def drive_mes(c: httpx.Client) -> None:
    c.post(
        "/api/v1/work-orders",
        json={
            "erpOrderNumber": "000001000001",
            "revision": 0,
            "partNumber": "P-7731",
            "quantity": 20,
            "uom": "pcs",
            "bom": [
                {"partNumber": "P-1001", "quantity": 20, "uom": "pcs", "location": "LINESIDE-1"},
                {"partNumber": "P-2040", "quantity": 5.0, "uom": "kg", "location": "LINESIDE-1"},
            ],
        },
    ).raise_for_status()
    c.post(
        "/admin/work-orders/000001000001/run",
        json={"goodQty": 8, "scrapQty": 1, "lot": "FG-LOT-1", "componentLots": {"P-1001": "SUP-L77"}},
    ).raise_for_status()
    c.post("/admin/work-orders/000001000001/run", json={"lot": "FG-LOT-1"}).raise_for_status()


def drive_wms(c: httpx.Client) -> None:
    c.put("/admin/settings", json={"autoConfirmSeconds": None}).raise_for_status()
    c.post(
        "/admin/stock", json={"sku": "SKU-20011", "qty": 50, "lot": "L0", "bin": "01-01-01"}
    ).raise_for_status()
    c.post(
        "/api/receipts",
        json={
            "poNumber": "4500000001",
            "asnNumber": "ASN-000001",
            "lines": [{"lineNo": 1, "poLine": 10, "sku": "SKU-20011", "qty": 100, "lot": "ACME-000001-10"}],
        },
    ).raise_for_status()
    c.post(
        "/api/staging-requests",
        json={"orderRef": "000001000001", "items": [{"sku": "SKU-20011", "qty": 20}]},
        headers={"Idempotency-Key": "stage-1"},
    ).raise_for_status()
    c.post(
        "/api/putaway-requests",
        json={"sku": "SKU-10100", "qty": 8, "lot": "FG-LOT-1", "orderRef": "000001000001"},
    ).raise_for_status()
    c.post("/admin/tasks/confirm-all", json={}).raise_for_status()
    c.post("/api/inventory/blocks", json={"lot": "FG-LOT-1", "reason": "scratches"}).raise_for_status()


def drive_supplier(c: httpx.Client) -> None:
    c.put(
        "/admin/rules",
        json={
            "ackDelaySeconds": 3600,
            "default": "accept",
            "parts": {
                "HSG-A1": {"action": "change", "quantity": 80, "shiftDays": 3, "reason": "capacity"},
                "SEAL-9": {"action": "reject", "reason": "discontinued"},
            },
        },
    ).raise_for_status()
    c.post(
        "/api/purchase-orders",
        json={
            "buyerPoNumber": "4500000001",
            "revision": 0,
            "buyer": "PLANT-1000",
            "currency": "EUR",
            "lines": [
                {
                    "lineNo": 10,
                    "supplierPart": "HSG-A1",
                    "quantity": 100,
                    "unit": "PCE",
                    "unitPrice": "12.50",
                    "requestedDate": "2026-12-04",
                },
                {
                    "lineNo": 20,
                    "supplierPart": "SEAL-9",
                    "quantity": 10,
                    "unit": "PCE",
                    "requestedDate": "2026-12-04",
                },
                {
                    "lineNo": 30,
                    "supplierPart": "BOLT-M8",
                    "quantity": 400,
                    "unit": "PCE",
                    "requestedDate": "2026-12-04",
                },
            ],
        },
    ).raise_for_status()
    c.post("/admin/purchase-orders/4500000001/ack").raise_for_status()
    c.post("/admin/purchase-orders/4500000001/ship", json={}).raise_for_status()
    c.post(
        "/admin/purchase-orders/4500000001/delay", json={"lineNo": 30, "reason": "port strike"}
    ).raise_for_status()


def record(system: str, drive: Any, root: Path) -> list[dict[str, Any]]:
    sim = SimProcess(system, root / system).start()
    try:
        with sim.client() as c:
            drive(c)
            return list(c.get("/events", params={"limit": 1000}).json()["events"])
    finally:
        sim.kill()


def main() -> None:
    HERE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for system, drive in (
            ("erp", drive_erp),
            ("mes", drive_mes),
            ("wms", drive_wms),
            ("supplier", drive_supplier),
        ):
            events = record(system, drive, Path(tmp))
            (HERE / f"{system}.json").write_text(json.dumps(events, indent=1) + "\n")
            print(
                system,
                len(events),
                sorted(
                    {
                        e.get("OBJTYPE", "")
                        + (e.get("EVENT") or e.get("eventType") or e.get("event") or e.get("messageType"))
                        for e in events
                    }
                ),
            )


if __name__ == "__main__":
    main()
