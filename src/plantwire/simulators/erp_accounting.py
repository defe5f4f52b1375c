"""Accounting documents (BKPF) of the ERP simulator: the financial posting of a goods receipt to a
purchase order, with a per-PO switch that makes it fail permanently (to exercise compensation)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from plantwire.simulators.erp import Erp, erp_error, text
from plantwire.simulators.erp_docs import document


def accounting_document(erp: Erp, row: dict[str, Any]) -> dict[str, Any]:
    """An accounting document in BAPI field names."""
    return {
        "BELNR": row["belnr"],
        "GJAHR": row["gjahr"],
        "BUKRS": "1000",
        "BLART": row["blart"],
        "REF_DOC_NO": row["ref_doc_no"],
        "MBLNR": row["mblnr"],
        "MJAHR": row["mjahr"],
        "EBELN": row["ebeln"],
        "WRBTR": f"{Decimal(row['wrbtr']):.2f}",
        "WAERS": row["waers"],
    }


def post_accounting(erp: Erp, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The financial posting of a goods receipt to a PO: (document, existing)."""
    store = erp.store
    ref = text(body, "REF_DOC_NO", required=False) or None
    mblnr, mjahr = text(body, "MBLNR"), text(body, "MJAHR", required=False)
    existing = store.row(
        "SELECT * FROM bkpf WHERE (ref_doc_no = ? AND ? IS NOT NULL) OR mblnr = ? ORDER BY created LIMIT 1",
        (ref, ref, mblnr),
    )
    if existing is not None:
        return accounting_document(erp, existing), True
    doc = document(erp, mblnr, mjahr or None)
    if doc is None:
        raise erp_error(404, "M7", "060", f"Material document {mblnr} does not exist")
    lines = [i for i in doc["ITEMS"] if i["BWART"] == "101" and i["EBELN"]]
    if not lines:
        raise erp_error(400, "F5", "702", f"Material document {mblnr} is not a goods receipt to a PO")
    ebeln = lines[0]["EBELN"]
    po = store.row("SELECT waers, acc_fail FROM ekko WHERE ebeln = ?", (ebeln,))
    assert po is not None
    if po["acc_fail"]:
        raise erp_error(
            400,
            "F5",
            "155",
            f"Account determination for PO {ebeln} failed: GR/IR clearing "
            "account blocked for posting (permanent)",
        )
    amount = sum((Decimal(i["ERFMG"]) * _net_price(erp, ebeln, i["EBELP"]) for i in lines), Decimal(0))
    belnr, gjahr = str(store.next_number("BELNR", 5000000001)), doc["MJAHR"]
    store.execute(
        "INSERT INTO bkpf VALUES (?, ?, 'WE', ?, ?, ?, ?, ?, ?, ?)",
        (belnr, gjahr, ref, doc["MBLNR"], doc["MJAHR"], ebeln, str(amount), po["waers"], time.time()),
    )
    row = store.row("SELECT * FROM bkpf WHERE belnr = ? AND gjahr = ?", (belnr, gjahr))
    assert row is not None
    result = accounting_document(erp, row)
    erp.sim.emit("BKPF.POSTED", result, key=f"{belnr}{gjahr}")
    return result, False


def _net_price(erp: Erp, ebeln: str, ebelp: int) -> Decimal:
    line = erp.store.row("SELECT netpr FROM ekpo WHERE ebeln = ? AND ebelp = ?", (ebeln, ebelp))
    return Decimal(line["netpr"]) if line else Decimal(0)
