"""Production orders (AUFK/RESB, confirmations in AFRU) and purchase orders (EKKO/EKPO with supplier
confirmations) of the ERP simulator."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from plantwire.simulators.erp import (
    BOMS,
    FG_SLOC,
    RM_SLOC,
    Erp,
    erp_error,
    q3,
    quantity,
    sap_date,
    text,
    today,
)

ORDER_STATUSES = ("CRTD", "REL", "PCNF", "CNF", "TECO")


# -- production orders ------------------------------------------------------------------------
def production_order(erp: Erp, aufnr: str) -> dict[str, Any]:
    """A production order with its components, or 404."""
    head = erp.store.row("SELECT * FROM aufk WHERE aufnr = ?", (aufnr,))
    if head is None:
        raise erp_error(404, "KI", "235", f"Order {aufnr} does not exist")
    comps = erp.store.rows("SELECT * FROM resb WHERE aufnr = ? ORDER BY rspos", (aufnr,))
    return {
        "AUFNR": head["aufnr"],
        "AUART": "PP01",
        "MATNR": head["matnr"],
        "WERKS": head["werks"],
        "GAMNG": q3(head["gamng"]),
        "GMEIN": head["gmein"],
        "GSTRP": head["gstrp"],
        "GLTRP": head["gltrp"],
        "LGORT": head["lgort"],
        "STATUS": head["status"],
        "WEMNG": q3(head["wemng"]),
        "IGMNG": q3(head["igmng"]),
        "IASMG": q3(head["iasmg"]),
        "COMPONENTS": [
            {
                "RSPOS": c["rspos"],
                "MATNR": c["matnr"],
                "BDMNG": q3(c["bdmng"]),
                "MEINS": c["meins"],
                "LGORT": c["lgort"],
                "ENMNG": q3(c["enmng"]),
            }
            for c in comps
        ],
    }


def create_production_order(erp: Erp, body: dict[str, Any]) -> dict[str, Any]:
    """CO01: create a production order (components from BODY or the seeded BOM); release if asked."""
    werks, matnr = text(body, "WERKS", required=False, default="1000"), text(body, "MATNR")
    mara = erp.material(matnr, werks)
    gamng = quantity(body.get("GAMNG"), "GAMNG")
    gstrp = sap_date(body.get("GSTRP"), "GSTRP", today())
    gltrp = sap_date(body.get("GLTRP"), "GLTRP", gstrp)
    aufnr = f"{erp.store.next_number('AUFNR', 1000001):012d}"
    comps = _components(erp, body.get("COMPONENTS"), matnr, gamng)
    erp.store.execute(
        "INSERT INTO aufk VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'CRTD', '0', '0', '0', ?)",
        (
            aufnr,
            matnr,
            werks,
            str(gamng),
            mara["meins"],
            gstrp,
            gltrp,
            text(body, "LGORT", required=False, default=FG_SLOC),
            time.time(),
        ),
    )
    erp.store.conn.executemany(
        "INSERT INTO resb VALUES (?, ?, ?, ?, ?, ?, '0')", [(aufnr, *c) for c in comps]
    )
    erp.sim.emit("BUS2005.CREATED", production_order(erp, aufnr), key=aufnr)
    if body.get("RELEASE", True):
        release_production_order(erp, aufnr)
    return production_order(erp, aufnr)


def _components(erp: Erp, raw: Any, matnr: str, gamng: Decimal) -> list[tuple[Any, ...]]:
    if raw is None:
        return [
            (10 * (n + 1), comp, str(Decimal(per) * gamng), erp.material(comp)["meins"], RM_SLOC)
            for n, (comp, per) in enumerate(BOMS.get(matnr, []))
        ]
    if not isinstance(raw, list):
        raise erp_error(400, "BAPI", "004", "COMPONENTS must be a list")
    out = []
    for n, comp in enumerate(raw):
        cmat = text(comp, "MATNR")
        meins = erp.material(cmat)["meins"]
        out.append(
            (
                int(comp.get("RSPOS") or 10 * (n + 1)),
                cmat,
                str(quantity(comp.get("BDMNG"), "BDMNG")),
                text(comp, "MEINS", required=False, default=meins),
                text(comp, "LGORT", required=False, default=RM_SLOC),
            )
        )
    return out


def release_production_order(erp: Erp, aufnr: str) -> dict[str, Any]:
    """Release (CRTD -> REL); releasing a released order changes nothing and announces nothing."""
    order = production_order(erp, aufnr)
    if order["STATUS"] == "CRTD":
        erp.store.execute("UPDATE aufk SET status = 'REL' WHERE aufnr = ?", (aufnr,))
        order = production_order(erp, aufnr)
        erp.sim.emit("BUS2005.RELEASED", order, key=aufnr)
    return order


def confirm_production_order(erp: Erp, aufnr: str, body: dict[str, Any]) -> dict[str, Any]:
    """BAPI_PRODORDCONF_CREATE_HDR: confirm yield and scrap, partially (PCNF) or finally (CNF)."""
    order = production_order(erp, aufnr)
    if order["STATUS"] not in ("REL", "PCNF"):
        raise erp_error(
            400, "RU", "150", f"Order {aufnr} has status {order['STATUS']}; it cannot be confirmed"
        )
    lmnga = Decimal(str(body.get("LMNGA") or 0))
    xmnga = Decimal(str(body.get("XMNGA") or 0))
    if lmnga < 0 or xmnga < 0 or lmnga + xmnga <= 0:
        raise erp_error(400, "RU", "016", "Enter a yield (LMNGA) or scrap (XMNGA) quantity")
    final = body.get("FIN_CONF") in ("X", True)
    rueck = f"{erp.store.next_number('RUECK', 100001):010d}"
    erp.store.execute(
        "INSERT INTO afru VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rueck,
            aufnr,
            str(lmnga),
            str(xmnga),
            order["GMEIN"],
            "X" if final else "",
            sap_date(body.get("BUDAT"), "BUDAT", today()),
            time.time(),
        ),
    )
    erp.store.execute(
        "UPDATE aufk SET igmng = ?, iasmg = ?, status = ? WHERE aufnr = ?",
        (
            str(Decimal(order["IGMNG"]) + lmnga),
            str(Decimal(order["IASMG"]) + xmnga),
            "CNF" if final else "PCNF",
            aufnr,
        ),
    )
    result = {
        "RUECK": rueck,
        "AUFNR": aufnr,
        "LMNGA": q3(lmnga),
        "XMNGA": q3(xmnga),
        "MEINH": order["GMEIN"],
        "FIN_CONF": "X" if final else "",
        "STATUS": "CNF" if final else "PCNF",
    }
    erp.sim.emit("BUS2005.CONFIRMED", {**result, "ORDER": production_order(erp, aufnr)}, key=aufnr)
    return result


def teco_production_order(erp: Erp, aufnr: str) -> dict[str, Any]:
    """Technically complete an order (no further movements expected)."""
    order = production_order(erp, aufnr)
    if order["STATUS"] != "TECO":
        erp.store.execute("UPDATE aufk SET status = 'TECO' WHERE aufnr = ?", (aufnr,))
        order = production_order(erp, aufnr)
        erp.sim.emit("BUS2005.TECHNICALLY_COMPLETED", order, key=aufnr)
    return order


# -- purchase orders --------------------------------------------------------------------------
def purchase_order(erp: Erp, ebeln: str) -> dict[str, Any]:
    """A purchase order with its items, or 404."""
    head = erp.store.row("SELECT * FROM ekko WHERE ebeln = ?", (ebeln,))
    if head is None:
        raise erp_error(404, "06", "019", f"Purchasing document {ebeln} does not exist")
    items = erp.store.rows("SELECT * FROM ekpo WHERE ebeln = ? ORDER BY ebelp", (ebeln,))
    return {
        "EBELN": head["ebeln"],
        "BSART": head["bsart"],
        "LIFNR": head["lifnr"],
        "WERKS": head["werks"],
        "WAERS": head["waers"],
        "BEDAT": head["bedat"],
        "STATUS": head["status"],
        "REVISION": head["revision"],
        "ITEMS": [
            {
                "EBELP": i["ebelp"],
                "MATNR": i["matnr"],
                "MENGE": q3(i["menge"]),
                "MEINS": i["meins"],
                "NETPR": f"{Decimal(i['netpr']):.2f}",
                "EINDT": i["eindt"],
                "LGORT": i["lgort"],
                "WEMNG": q3(i["wemng"]),
                "CONF_STATUS": i["conf"],
            }
            for i in items
        ],
    }


def create_purchase_order(erp: Erp, body: dict[str, Any]) -> dict[str, Any]:
    """ME21N: create a purchase order; approve (release) it unless APPROVE is false."""
    werks, lifnr = text(body, "WERKS", required=False, default="1000"), text(body, "LIFNR")
    erp.plant(werks)
    raw_items = body.get("ITEMS")
    if not isinstance(raw_items, list) or not raw_items:
        raise erp_error(400, "ME", "062", "A purchase order needs ITEMS")
    ebeln = str(erp.store.next_number("EBELN", 4500000001))
    default_eindt = (date.today() + timedelta(days=7)).isoformat()
    for n, item in enumerate(raw_items):
        matnr = text(item, "MATNR")
        meins = erp.material(matnr, werks)["meins"]
        erp.store.execute(
            "INSERT INTO ekpo VALUES (?, ?, ?, ?, ?, ?, ?, ?, '0', 'OPEN')",
            (
                ebeln,
                int(item.get("EBELP") or 10 * (n + 1)),
                matnr,
                str(quantity(item.get("MENGE"), "MENGE")),
                text(item, "MEINS", False, meins),
                str(Decimal(str(item.get("NETPR") or 0))),
                sap_date(item.get("EINDT"), "EINDT", default_eindt),
                text(item, "LGORT", required=False, default=RM_SLOC),
            ),
        )
    erp.store.execute(
        "INSERT INTO ekko VALUES (?, ?, ?, 'NB', ?, ?, 'CRTD', 0, 0, ?)",
        (ebeln, lifnr, werks, text(body, "WAERS", False, "EUR"), today(), time.time()),
    )
    erp.sim.emit("BUS2012.CREATED", purchase_order(erp, ebeln), key=ebeln)
    if body.get("APPROVE", True):
        approve_purchase_order(erp, ebeln)
    return purchase_order(erp, ebeln)


def approve_purchase_order(erp: Erp, ebeln: str) -> dict[str, Any]:
    """Release strategy passed: CRTD -> REL, announced as BUS2012.RELEASED."""
    po = purchase_order(erp, ebeln)
    if po["STATUS"] == "CRTD":
        erp.store.execute("UPDATE ekko SET status = 'REL' WHERE ebeln = ?", (ebeln,))
        po = purchase_order(erp, ebeln)
        erp.sim.emit("BUS2012.RELEASED", po, key=ebeln)
    return po


def confirm_purchase_order(erp: Erp, ebeln: str, body: dict[str, Any]) -> dict[str, Any]:
    """Record a supplier's confirmation per item: ACCEPT, CHANGE (MENGE/EINDT) or REJECT."""
    po = purchase_order(erp, ebeln)
    raw = body.get("ITEMS")
    if not isinstance(raw, list) or not raw:
        raise erp_error(400, "ME", "062", "A confirmation needs ITEMS")
    known = {i["EBELP"]: i for i in po["ITEMS"]}
    changes = []
    for entry in raw:
        ebelp = int(entry.get("EBELP") or 0)
        if ebelp not in known:
            raise erp_error(404, "06", "020", f"Item {ebelp} of purchase order {ebeln} does not exist")
        action = text(entry, "ACTION").upper()
        changes.append(_confirm_item(erp, ebeln, ebelp, action, entry))
    changed = any(c["ACTION"] != "ACCEPT" for c in changes)
    if changed:
        erp.store.execute("UPDATE ekko SET revision = revision + 1 WHERE ebeln = ?", (ebeln,))
    po = purchase_order(erp, ebeln)
    result = {"EBELN": ebeln, "REVISION": po["REVISION"], "CHANGES": changes, "PO": po}
    erp.sim.emit("BUS2012.CHANGED" if changed else "BUS2012.CONFIRMED", result, key=ebeln)
    return result


def _confirm_item(erp: Erp, ebeln: str, ebelp: int, action: str, entry: dict[str, Any]) -> dict[str, Any]:
    key = (ebeln, ebelp)
    if action == "ACCEPT":
        erp.store.execute("UPDATE ekpo SET conf = 'CONFIRMED' WHERE ebeln = ? AND ebelp = ?", key)
    elif action == "REJECT":
        erp.store.execute("UPDATE ekpo SET conf = 'REJECTED' WHERE ebeln = ? AND ebelp = ?", key)
    elif action == "CHANGE":
        line = erp.store.row("SELECT menge, eindt FROM ekpo WHERE ebeln = ? AND ebelp = ?", key)
        assert line is not None
        menge = (
            quantity(entry["MENGE"], "MENGE") if entry.get("MENGE") is not None else Decimal(line["menge"])
        )
        eindt = sap_date(entry.get("EINDT"), "EINDT", line["eindt"])
        erp.store.execute(
            "UPDATE ekpo SET conf = 'CHANGED', menge = ?, eindt = ? WHERE ebeln = ? AND ebelp = ?",
            (str(menge), eindt, *key),
        )
    else:
        raise erp_error(400, "ME", "064", f"ACTION must be ACCEPT, CHANGE or REJECT, not {action}")
    return {
        "EBELP": ebelp,
        "ACTION": action,
        "MENGE": entry.get("MENGE"),
        "EINDT": entry.get("EINDT"),
        "REASON": entry.get("REASON"),
    }
