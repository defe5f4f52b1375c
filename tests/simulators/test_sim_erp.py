"""The ERP simulator as a real process: material documents, references, stock, reversal, orders, POs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from plantwire.simulators.testing import SimProcess

PLANT, RM, FG = "1000", "RM01", "FG01"
HOUSING, PUMP = "20000011", "10000100"


@pytest.fixture(scope="module")
def erp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    sim = SimProcess("erp", tmp_path_factory.mktemp("erp") / "data").start()
    try:
        with sim.client() as client:
            yield client
    finally:
        sim.kill()


def movement(
    bwart: str, qty: Any, ref: str | None = None, matnr: str = HOUSING, lgort: str = RM, **extra: Any
) -> dict[str, Any]:
    header = {"REF_DOC_NO": ref} if ref else {}
    return {
        "GOODSMVT_HEADER": header,
        "ITEMS": [{"BWART": bwart, "MATNR": matnr, "WERKS": PLANT, "LGORT": lgort, "ERFMG": qty, **extra}],
    }


def labst(client: httpx.Client, matnr: str = HOUSING, lgort: str = RM, charg: str = "") -> str:
    rows = client.get(
        "/api/stock", params={"MATNR": matnr, "WERKS": PLANT, "LGORT": lgort, "CHARG": charg}
    ).json()["STOCK"]
    return rows[0]["LABST"] if rows else "0.000"


def counts(client: httpx.Client) -> dict[str, Any]:
    result: dict[str, Any] = client.get("/admin/counts").json()
    return result


def test_without_reference_every_post_is_a_new_document(erp: httpx.Client) -> None:
    before = counts(erp)["material_documents"]["by_movement_type"].get("561", 0)
    first = erp.post("/api/goods-movements", json=movement("561", 5))
    second = erp.post("/api/goods-movements", json=movement("561", 5))
    assert first.status_code == second.status_code == 201
    assert first.json()["MATERIALDOCUMENT"] != second.json()["MATERIALDOCUMENT"]
    assert first.json()["MATERIALDOCUMENT"].startswith("49") and len(first.json()["MATERIALDOCUMENT"]) == 10
    assert counts(erp)["material_documents"]["by_movement_type"]["561"] == before + 2


def test_with_the_same_reference_the_existing_document_is_returned(erp: httpx.Client) -> None:
    first = erp.post("/api/goods-movements", json=movement("561", 3, ref="PW-REF-1"))
    again = erp.post("/api/goods-movements", json=movement("561", 3, ref="PW-REF-1"))
    assert first.status_code == 201 and first.json()["EXISTING"] is False
    assert again.status_code == 200 and again.json()["EXISTING"] is True
    assert again.json()["MATERIALDOCUMENT"] == first.json()["MATERIALDOCUMENT"]
    assert again.json()["RETURN"][0]["TYPE"] == "W"
    assert counts(erp)["material_documents"]["by_reference"]["PW-REF-1"] == 1
    found = erp.get("/api/goods-movements", params={"REF_DOC_NO": "PW-REF-1"}).json()["DOCUMENTS"]
    assert [d["MBLNR"] for d in found] == [first.json()["MATERIALDOCUMENT"]]
    assert erp.get("/api/goods-movements", params={"REF_DOC_NO": "never-posted"}).json()["DOCUMENTS"] == []


def test_a_deficit_refuses_the_whole_document(erp: httpx.Client) -> None:
    erp.post("/api/goods-movements", json=movement("561", 2, matnr="20000027"))
    before = counts(erp)["material_documents"]["total"]
    stock = labst(erp, "20000027")
    body = movement("311", 1, matnr="20000027", UMLGO="PR01")
    body["ITEMS"].append(
        {"BWART": "311", "MATNR": "20000027", "WERKS": PLANT, "LGORT": RM, "ERFMG": 500, "UMLGO": "PR01"}
    )
    refused = erp.post("/api/goods-movements", json=body)
    assert refused.status_code == 400
    message = refused.json()["RETURN"][0]
    assert (message["TYPE"], message["ID"], message["NUMBER"]) == ("E", "M7", "021")
    assert "Deficit of SL Unrestricted-use" in message["MESSAGE"] and "20000027" in message["MESSAGE"]
    assert counts(erp)["material_documents"]["total"] == before
    assert labst(erp, "20000027") == stock


def test_reversal_restores_stock_once(erp: httpx.Client) -> None:
    stock = labst(erp, "20000035")
    posted = erp.post("/api/goods-movements", json=movement("561", 7, matnr="20000035")).json()
    assert labst(erp, "20000035") == f"{float(stock) + 7:.3f}"
    mblnr = posted["MATERIALDOCUMENT"]
    reversal = erp.post(f"/api/goods-movements/{mblnr}/reversal", json={"REF_DOC_NO": f"REV-{mblnr}"})
    assert reversal.status_code == 201
    doc = reversal.json()["DOCUMENT"]
    assert doc["ITEMS"][0]["BWART"] == "562" and doc["REVERSAL_OF"] == f"{mblnr}/{posted['MATDOCUMENTYEAR']}"
    assert labst(erp, "20000035") == stock
    retried = erp.post(f"/api/goods-movements/{mblnr}/reversal", json={"REF_DOC_NO": f"REV-{mblnr}"})
    assert retried.status_code == 200 and retried.json()["EXISTING"] is True
    twice = erp.post(f"/api/goods-movements/{mblnr}/reversal", json={})
    assert twice.status_code == 400 and twice.json()["RETURN"][0]["NUMBER"] == "086"
    assert erp.get(f"/api/goods-movements/{mblnr}").json()["REVERSED_BY"].startswith(doc["MBLNR"])


def test_block_and_unblock_by_batch(erp: httpx.Client) -> None:
    erp.post("/api/goods-movements", json=movement("561", 10, matnr="20000042", CHARG="B1"))
    assert (
        erp.post("/api/goods-movements", json=movement("344", 4, matnr="20000042", CHARG="B1")).status_code
        == 201
    )
    row = erp.get("/api/stock", params={"MATNR": "20000042", "CHARG": "B1"}).json()["STOCK"][0]
    assert (row["LABST"], row["SPEME"]) == ("6.000", "4.000")
    too_much = erp.post("/api/goods-movements", json=movement("343", 5, matnr="20000042", CHARG="B1"))
    assert too_much.json()["RETURN"][0]["NUMBER"] == "023"
    assert (
        erp.post("/api/goods-movements", json=movement("343", 4, matnr="20000042", CHARG="B1")).status_code
        == 201
    )


def test_production_order_goods_issue_receipt_and_confirmation(erp: httpx.Client) -> None:
    order = erp.post("/admin/production-orders", json={"MATNR": PUMP, "GAMNG": 4, "WERKS": PLANT}).json()
    aufnr = order["AUFNR"]
    assert len(aufnr) == 12 and order["STATUS"] == "REL"
    assert [c["MATNR"] for c in order["COMPONENTS"]] == ["20000011", "20000027", "20000058"]
    erp.post("/api/goods-movements", json=movement("561", 100, matnr="20000058"))
    issue = erp.post("/api/goods-movements", json=movement("261", 32, matnr="20000058", AUFNR=aufnr))
    assert issue.status_code == 201
    receipt = erp.post("/api/goods-movements", json=movement("101", 4, matnr=PUMP, lgort=FG, AUFNR=aufnr))
    assert receipt.status_code == 201
    conf = {"LMNGA": 4, "FIN_CONF": "X", "REF": f"CONF-{aufnr}"}
    first = erp.post(f"/api/production-orders/{aufnr}/confirmations", json=conf)
    again = erp.post(f"/api/production-orders/{aufnr}/confirmations", json=conf)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    after = erp.get(f"/api/production-orders/{aufnr}").json()
    assert (after["STATUS"], after["WEMNG"], after["IGMNG"]) == ("CNF", "4.000", "4.000")
    assert after["COMPONENTS"][2]["ENMNG"] == "32.000"
    types = [
        e["OBJTYPE"] + "." + e["EVENT"]
        for e in erp.get("/events", params={"limit": 1000}).json()["events"]
        if e["OBJKEY"] == aufnr
    ]
    assert types == ["BUS2005.CREATED", "BUS2005.RELEASED", "BUS2005.CONFIRMED"]


def test_purchase_order_receipt_accounting_and_permanent_failure(erp: httpx.Client) -> None:
    po = erp.post(
        "/admin/purchase-orders",
        json={"LIFNR": "0000100200", "ITEMS": [{"MATNR": HOUSING, "MENGE": 50, "NETPR": "12.50"}]},
    ).json()
    ebeln = po["EBELN"]
    assert ebeln.startswith("45") and len(ebeln) == 10 and po["STATUS"] == "REL"
    gr = erp.post("/api/goods-movements", json=movement("101", 20, EBELN=ebeln, EBELP=10)).json()
    acc = erp.post("/api/accounting-documents", json={"MBLNR": gr["MATERIALDOCUMENT"], "REF_DOC_NO": "FI-1"})
    assert acc.status_code == 201 and acc.json()["WRBTR"] == "250.00"
    again = erp.post(
        "/api/accounting-documents", json={"MBLNR": gr["MATERIALDOCUMENT"], "REF_DOC_NO": "FI-1"}
    )
    assert again.json()["EXISTING"] is True and again.json()["BELNR"] == acc.json()["BELNR"]
    assert erp.get(f"/api/purchase-orders/{ebeln}").json()["ITEMS"][0]["WEMNG"] == "20.000"

    erp.put(f"/admin/purchase-orders/{ebeln}/accounting", json={"fail": True})
    gr2 = erp.post("/api/goods-movements", json=movement("101", 5, EBELN=ebeln, EBELP=10)).json()
    for _ in range(2):
        failed = erp.post("/api/accounting-documents", json={"MBLNR": gr2["MATERIALDOCUMENT"]})
        assert failed.status_code == 400 and failed.json()["RETURN"][0]["ID"] == "F5"
    compensation = erp.post(f"/api/goods-movements/{gr2['MATERIALDOCUMENT']}/reversal", json={})
    assert compensation.json()["DOCUMENT"]["ITEMS"][0]["BWART"] == "102"
    assert erp.get(f"/api/purchase-orders/{ebeln}").json()["ITEMS"][0]["WEMNG"] == "20.000"


def test_supplier_confirmation_changes_and_rejects_lines(erp: httpx.Client) -> None:
    po = erp.post(
        "/admin/purchase-orders",
        json={
            "LIFNR": "0000100300",
            "ITEMS": [
                {"MATNR": HOUSING, "MENGE": 10, "NETPR": 1},
                {"MATNR": "20000027", "MENGE": 10, "NETPR": 1},
            ],
        },
    ).json()
    ebeln = po["EBELN"]
    conf = {
        "REF": f"ACK-{ebeln}",
        "ITEMS": [
            {"EBELP": 10, "ACTION": "CHANGE", "MENGE": 8, "EINDT": "2030-01-15"},
            {"EBELP": 20, "ACTION": "REJECT", "REASON": "discontinued"},
        ],
    }
    assert erp.post(f"/api/purchase-orders/{ebeln}/confirmations", json=conf).status_code == 201
    assert erp.post(f"/api/purchase-orders/{ebeln}/confirmations", json=conf).status_code == 200
    after = erp.get(f"/api/purchase-orders/{ebeln}").json()
    assert after["REVISION"] == 1
    assert [(i["CONF_STATUS"], i["MENGE"], i["EINDT"]) for i in after["ITEMS"]][0] == (
        "CHANGED",
        "8.000",
        "2030-01-15",
    )
    assert after["ITEMS"][1]["CONF_STATUS"] == "REJECTED"
    refused = erp.post(
        "/api/goods-movements", json=movement("101", 1, matnr="20000027", EBELN=ebeln, EBELP=20)
    )
    assert refused.status_code == 400


def test_unknown_material_and_wrong_unit_are_business_errors(erp: httpx.Client) -> None:
    unknown = erp.post("/api/goods-movements", json=movement("561", 1, matnr="99999999"))
    assert unknown.status_code == 400 and unknown.json()["RETURN"][0]["ID"] == "M3"
    unit = erp.post("/api/goods-movements", json=movement("561", 1, ERFME="EA"))
    assert unit.status_code == 400 and "Unit EA" in unit.json()["RETURN"][0]["MESSAGE"]


def test_restart_keeps_documents_stock_and_number_ranges(tmp_path: Path) -> None:
    sim = SimProcess("erp", tmp_path / "data").start()
    try:
        with sim.client() as client:
            first = client.post("/api/goods-movements", json=movement("561", 9, ref="KEEP-1")).json()
        sim.kill()
        sim.start()
        with sim.client() as client:
            again = client.post("/api/goods-movements", json=movement("561", 9, ref="KEEP-1")).json()
            assert again["EXISTING"] is True and again["MATERIALDOCUMENT"] == first["MATERIALDOCUMENT"]
            assert labst(client) == "9.000"
            nxt = client.post("/api/goods-movements", json=movement("561", 1)).json()
            assert int(nxt["MATERIALDOCUMENT"]) == int(first["MATERIALDOCUMENT"]) + 1
            assert client.get("/events").json()["head"] == 2
    finally:
        sim.kill()
