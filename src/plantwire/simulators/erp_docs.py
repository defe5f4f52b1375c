"""Material documents (goods movements, as BAPI_GOODSMVT_CREATE posts them), their reversal, stock
(MARD/MCHB-like buckets) and accounting documents for goods receipts to purchase orders.

A document posts all its items or none: quantities are checked bucket by bucket (material, plant,
storage location, batch, stock type) and a deficit refuses the whole document with M7 021/022/023.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from plantwire.simulators.erp import Erp, erp_error, q3, quantity, sap_date, text, today
from plantwire.simulators.erp_stock import MOVES, REVERSAL, Item, add_stock, check_stock


def find_by_reference(erp: Erp, ref: str) -> dict[str, Any] | None:
    """The first material document posted with this REF_DOC_NO."""
    head = erp.store.row(
        "SELECT mblnr, mjahr FROM mkpf WHERE ref_doc_no = ? ORDER BY created, mblnr LIMIT 1", (ref,)
    )
    return None if head is None else document(erp, head["mblnr"], head["mjahr"])


def document(erp: Erp, mblnr: str, mjahr: str | None = None) -> dict[str, Any] | None:
    """A material document with its items, in BAPI field names."""
    sql, params = "SELECT * FROM mkpf WHERE mblnr = ?", [mblnr]
    if mjahr:
        sql, params = sql + " AND mjahr = ?", [*params, mjahr]
    head = erp.store.row(sql, params)
    if head is None:
        return None
    items = erp.store.rows(
        "SELECT * FROM mseg WHERE mblnr = ? AND mjahr = ? ORDER BY zeile", (head["mblnr"], head["mjahr"])
    )
    return {
        "MBLNR": head["mblnr"],
        "MJAHR": head["mjahr"],
        "BUDAT": head["budat"],
        "REF_DOC_NO": head["ref_doc_no"],
        "HEADER_TXT": head["header_txt"],
        "REVERSAL_OF": head["reversal_of"],
        "REVERSED_BY": head["reversed_by"],
        "ITEMS": [
            {
                "ZEILE": i["zeile"],
                "BWART": i["bwart"],
                "MATNR": i["matnr"],
                "WERKS": i["werks"],
                "LGORT": i["lgort"],
                "CHARG": i["charg"],
                "ERFMG": q3(i["erfmg"]),
                "ERFME": i["erfme"],
                "AUFNR": i["aufnr"],
                "EBELN": i["ebeln"],
                "EBELP": i["ebelp"],
                "UMLGO": i["umlgo"],
                "UMCHA": i["umcha"],
                "INSMK": i["insmk"],
            }
            for i in items
        ],
    }


def parse_item(erp: Erp, raw: Any, default_bwart: str) -> Item:
    """Validate one request item against master data and its reference document."""
    if not isinstance(raw, dict):
        raise erp_error(400, "BAPI", "004", "Each entry of ITEMS must be an object")
    bwart = text(raw, "BWART", required=not default_bwart, default=default_bwart)
    if bwart not in MOVES:
        raise erp_error(400, "M7", "005", f"Movement type {bwart} is not supported")
    werks = text(raw, "WERKS")
    matnr = text(raw, "MATNR")
    mara = erp.material(matnr, werks)
    erfme = text(raw, "ERFME", required=False, default=mara["meins"])
    if erfme != mara["meins"]:
        raise erp_error(
            400, "M7", "024", f"Unit {erfme} is not defined for material {matnr} (base unit {mara['meins']})"
        )
    lgort = text(raw, "LGORT")
    if len(lgort) > 4:
        raise erp_error(400, "M7", "056", f"Storage location {lgort} does not exist in plant {werks}")
    ebelp = raw.get("EBELP")
    item = Item(
        bwart,
        matnr,
        werks,
        lgort,
        text(raw, "CHARG", required=False),
        quantity(raw.get("ERFMG"), "ERFMG"),
        erfme,
        text(raw, "AUFNR", required=False) or None,
        text(raw, "EBELN", required=False) or None,
        int(ebelp) if ebelp not in (None, "") else None,
        text(raw, "UMLGO", required=False) or None,
        text(raw, "UMCHA", required=False) or None,
        "X" if raw.get("INSMK") in ("X", "Q", True) else "",
    )
    _check_reference(erp, item)
    return item


def _check_reference(erp: Erp, item: Item) -> None:
    if item.bwart in ("101", "102"):
        if bool(item.ebeln) == bool(item.aufnr):
            raise erp_error(
                400,
                "M7",
                "093",
                f"Movement type {item.bwart} needs either EBELN/EBELP "
                "(purchase order) or AUFNR (production order)",
            )
        if item.ebeln:
            _check_po_item(erp, item)
            return
    if item.bwart in ("101", "102", "261", "262"):
        if not item.aufnr:
            raise erp_error(400, "M7", "093", f"Movement type {item.bwart} needs AUFNR")
        order = erp.store.row("SELECT * FROM aufk WHERE aufnr = ?", (item.aufnr,))
        if order is None:
            raise erp_error(404, "KI", "235", f"Order {item.aufnr} does not exist")
        if order["status"] not in ("REL", "PCNF", "CNF"):
            raise erp_error(
                400,
                "CO",
                "403",
                f"Order {item.aufnr} has status {order['status']}; goods movements need status REL",
            )
        if item.bwart in ("101", "102") and order["matnr"] != item.matnr:
            raise erp_error(
                400,
                "M7",
                "095",
                f"Material {item.matnr} is not the material of order {item.aufnr} ({order['matnr']})",
            )
    if item.bwart in ("311", "312") and not item.umlgo and not item.umcha:
        raise erp_error(400, "M7", "094", "Transfer posting needs UMLGO (receiving storage location)")


def _check_po_item(erp: Erp, item: Item) -> None:
    head = erp.store.row("SELECT status FROM ekko WHERE ebeln = ?", (item.ebeln,))
    if head is None:
        raise erp_error(404, "06", "019", f"Purchasing document {item.ebeln} does not exist")
    if head["status"] != "REL":
        raise erp_error(400, "ME", "390", f"Purchase order {item.ebeln} is not released")
    line = erp.store.row("SELECT * FROM ekpo WHERE ebeln = ? AND ebelp = ?", (item.ebeln, item.ebelp))
    if line is None:
        raise erp_error(404, "06", "020", f"Item {item.ebelp} of purchase order {item.ebeln} does not exist")
    if line["conf"] == "REJECTED":
        raise erp_error(
            400, "ME", "083", f"Item {item.ebelp} of PO {item.ebeln} was rejected by the supplier"
        )
    if line["matnr"] != item.matnr:
        raise erp_error(
            400,
            "M7",
            "095",
            f"Material {item.matnr} is not the material of PO item "
            f"{item.ebeln}/{item.ebelp} ({line['matnr']})",
        )


def post(
    erp: Erp, header: dict[str, Any], items: list[Item], reversal_of: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Post a validated document: stock, order and PO quantities, the document, its event."""
    check_stock(erp, items)
    store = erp.store
    mblnr, mjahr = str(store.next_number("MBLNR", 4900000001)), str(time.gmtime().tm_year)
    budat = sap_date(header.get("PSTNG_DATE"), "PSTNG_DATE", today())
    store.execute(
        "INSERT INTO mkpf (mblnr, mjahr, budat, ref_doc_no, header_txt, reversal_of, created) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            mblnr,
            mjahr,
            budat,
            header.get("REF_DOC_NO") or None,
            header.get("HEADER_TXT"),
            f"{reversal_of[0]}/{reversal_of[1]}" if reversal_of else None,
            time.time(),
        ),
    )
    for n, item in enumerate(items, start=1):
        store.execute(
            "INSERT INTO mseg VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                mblnr,
                mjahr,
                n,
                item.bwart,
                item.matnr,
                item.werks,
                item.lgort,
                item.charg,
                str(item.erfmg),
                item.erfme,
                item.aufnr,
                item.ebeln,
                item.ebelp,
                item.umlgo,
                item.umcha,
                item.insmk,
            ),
        )
        for bucket, stock_type, delta in item.deltas():
            add_stock(erp, bucket, stock_type, delta)
        _update_references(erp, item)
    doc = document(erp, mblnr, mjahr)
    assert doc is not None
    erp.sim.emit("BUS2017.CREATED", doc, key=f"{mblnr}{mjahr}")
    return doc


def _update_references(erp: Erp, item: Item) -> None:
    store, qty = erp.store, item.erfmg
    if item.bwart in ("101", "102") and item.ebeln:
        line = store.row("SELECT wemng FROM ekpo WHERE ebeln = ? AND ebelp = ?", (item.ebeln, item.ebelp))
        if line:
            new = Decimal(line["wemng"]) + (qty if item.bwart == "101" else -qty)
            store.execute(
                "UPDATE ekpo SET wemng = ? WHERE ebeln = ? AND ebelp = ?", (str(new), item.ebeln, item.ebelp)
            )
    elif item.bwart in ("101", "102") and item.aufnr:
        order = store.row("SELECT wemng FROM aufk WHERE aufnr = ?", (item.aufnr,))
        if order:
            new = Decimal(order["wemng"]) + (qty if item.bwart == "101" else -qty)
            store.execute("UPDATE aufk SET wemng = ? WHERE aufnr = ?", (str(new), item.aufnr))
    elif item.bwart in ("261", "262") and item.aufnr:
        comp = store.row(
            "SELECT rspos, enmng FROM resb WHERE aufnr = ? AND matnr = ? ORDER BY rspos LIMIT 1",
            (item.aufnr, item.matnr),
        )
        if comp:
            new = Decimal(comp["enmng"]) + (qty if item.bwart == "261" else -qty)
            store.execute(
                "UPDATE resb SET enmng = ? WHERE aufnr = ? AND rspos = ?",
                (str(new), item.aufnr, comp["rspos"]),
            )


def reverse(erp: Erp, mblnr: str, mjahr: str | None, header: dict[str, Any]) -> dict[str, Any]:
    """Post the reversal document of a material document (BAPI_GOODSMVT_CANCEL)."""
    original = document(erp, mblnr, mjahr)
    if original is None:
        raise erp_error(404, "M7", "060", f"Material document {mblnr} {mjahr or ''} does not exist")
    if original["REVERSED_BY"]:
        raise erp_error(
            400, "M7", "086", f"Material document {mblnr} was already reversed by {original['REVERSED_BY']}"
        )
    if original["REVERSAL_OF"]:
        raise erp_error(
            400, "M7", "087", f"Material document {mblnr} is itself a reversal; post a new movement instead"
        )
    items = [
        Item(
            REVERSAL[i["BWART"]],
            i["MATNR"],
            i["WERKS"],
            i["LGORT"],
            i["CHARG"],
            Decimal(i["ERFMG"]),
            i["ERFME"],
            i["AUFNR"],
            i["EBELN"],
            i["EBELP"],
            i["UMLGO"],
            i["UMCHA"],
            i["INSMK"],
        )
        for i in original["ITEMS"]
    ]
    doc = post(
        erp,
        {**header, "HEADER_TXT": header.get("HEADER_TXT") or f"Reversal of {mblnr}"},
        items,
        reversal_of=(original["MBLNR"], original["MJAHR"]),
    )
    erp.store.execute(
        "UPDATE mkpf SET reversed_by = ? WHERE mblnr = ? AND mjahr = ?",
        (f"{doc['MBLNR']}/{doc['MJAHR']}", original["MBLNR"], original["MJAHR"]),
    )
    return doc
