"""HTTP endpoints of the ERP simulator: /api/... for adapters, /admin/... for drivers and tests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from plantwire.simulators import erp_accounting as accounting
from plantwire.simulators import erp_docs as docs
from plantwire.simulators import erp_orders as orders
from plantwire.simulators.common import JsonBody, OptionalBody, replayable
from plantwire.simulators.erp import Erp, erp_error, q3, text

Json = dict[str, Any]
MAX_REF = 40  # SAP's XBLNR holds 16 characters; the simulator is kinder and keeps 40


def _reference(header: Json) -> str | None:
    ref = header.get("REF_DOC_NO")
    if ref in (None, ""):
        return None
    if not isinstance(ref, str) or len(ref) > MAX_REF:
        raise erp_error(400, "M7", "184", f"REF_DOC_NO must be text of at most {MAX_REF} characters")
    return ref


def _posted(doc: Json, existing: bool) -> JSONResponse:
    if existing:
        message = {
            "TYPE": "W",
            "ID": "M7",
            "NUMBER": "162",
            "MESSAGE": f"Document with reference "
            f"{doc['REF_DOC_NO']} already posted as {doc['MBLNR']} {doc['MJAHR']}; nothing posted",
        }
    else:
        message = {"TYPE": "S", "ID": "M7", "NUMBER": "060", "MESSAGE": f"Document {doc['MBLNR']} posted"}
    return JSONResponse(
        {
            "MATERIALDOCUMENT": doc["MBLNR"],
            "MATDOCUMENTYEAR": doc["MJAHR"],
            "EXISTING": existing,
            "DOCUMENT": doc,
            "RETURN": [message],
        },
        status_code=200 if existing else 201,
    )


def api_routes(erp: Erp) -> APIRouter:  # noqa: C901 - one small closure per route
    """The business API: what an adapter calls."""
    router = APIRouter(prefix="/api")
    store = erp.store

    @router.post("/goods-movements")
    async def create_movement(body: JsonBody) -> JSONResponse:
        header = body.get("GOODSMVT_HEADER") or {}
        ref = _reference(header)
        raw_items = body.get("ITEMS")
        if not isinstance(raw_items, list) or not raw_items:
            raise erp_error(400, "M7", "077", "ITEMS: enter at least one item")
        with store.tx():
            existing = docs.find_by_reference(erp, ref) if ref else None
            if existing is not None:
                erp.replayed["material_documents"] += 1
                return _posted(existing, True)
            items = [docs.parse_item(erp, raw, str(body.get("BWART") or "")) for raw in raw_items]
            return _posted(docs.post(erp, header, items), False)

    @router.get("/goods-movements")
    async def find_movements(
        REF_DOC_NO: str | None = None,
        AUFNR: str | None = None,  # noqa: N803
        EBELN: str | None = None,
        BWART: str | None = None,
    ) -> Json:  # noqa: N803
        sql, params = "SELECT DISTINCT k.mblnr, k.mjahr FROM mkpf k JOIN mseg s USING (mblnr, mjahr)", []
        where = [
            (c, v)
            for c, v in (
                ("k.ref_doc_no", REF_DOC_NO),
                ("s.aufnr", AUFNR),
                ("s.ebeln", EBELN),
                ("s.bwart", BWART),
            )
            if v
        ]
        if where:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where)
            params = [v for _, v in where]
        found = store.rows(sql + " ORDER BY k.created, k.mblnr", params)
        if REF_DOC_NO and found:
            erp.replayed["material_documents"] += 1
        return {"DOCUMENTS": [docs.document(erp, r["mblnr"], r["mjahr"]) for r in found]}

    @router.get("/goods-movements/{mblnr}")
    async def get_movement(mblnr: str, MJAHR: str | None = None) -> Json:  # noqa: N803
        doc = docs.document(erp, mblnr, MJAHR)
        if doc is None:
            raise erp_error(404, "M7", "060", f"Material document {mblnr} does not exist")
        return doc

    @router.post("/goods-movements/{mblnr}/reversal")
    async def reverse_movement(mblnr: str, body: OptionalBody) -> JSONResponse:
        header = body.get("GOODSMVT_HEADER") or body
        ref = _reference(header)
        with store.tx():
            existing = docs.find_by_reference(erp, ref) if ref else None
            if existing is not None:
                erp.replayed["material_documents"] += 1
                return _posted(existing, True)
            return _posted(docs.reverse(erp, mblnr, body.get("MJAHR"), header), False)

    @router.get("/stock")
    async def stock(
        MATNR: str | None = None,
        WERKS: str | None = None,  # noqa: N803
        LGORT: str | None = None,
        CHARG: str | None = None,
    ) -> Json:  # noqa: N803
        where = [
            (c, v)
            for c, v in (("s.matnr", MATNR), ("s.werks", WERKS), ("s.lgort", LGORT), ("s.charg", CHARG))
            if v is not None
        ]
        sql = "SELECT s.*, m.meins FROM stock s JOIN mara m USING (matnr)"
        if where:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where)
        rows = store.rows(sql + " ORDER BY matnr, werks, lgort, charg", [v for _, v in where])
        return {
            "STOCK": [
                {
                    "MATNR": r["matnr"],
                    "WERKS": r["werks"],
                    "LGORT": r["lgort"],
                    "CHARG": r["charg"],
                    "LABST": q3(r["labst"]),
                    "SPEME": q3(r["speme"]),
                    "INSME": q3(r["insme"]),
                    "MEINS": r["meins"],
                }
                for r in rows
            ]
        }

    @router.get("/materials")
    async def materials() -> Json:
        return {
            "MATERIALS": [
                {"MATNR": m["matnr"], "MAKTX": m["maktx"], "MEINS": m["meins"], "MTART": m["mtart"]}
                for m in store.rows("SELECT * FROM mara ORDER BY matnr")
            ]
        }

    @router.get("/production-orders")
    async def list_orders(STATUS: str | None = None, WERKS: str | None = None) -> Json:  # noqa: N803
        rows = store.rows(
            "SELECT aufnr FROM aufk WHERE (? IS NULL OR status = ?) AND (? IS NULL OR werks = ?) "
            "ORDER BY aufnr",
            (STATUS, STATUS, WERKS, WERKS),
        )
        return {"ORDERS": [orders.production_order(erp, r["aufnr"]) for r in rows]}

    @router.get("/production-orders/{aufnr}")
    async def get_order(aufnr: str) -> Json:
        return orders.production_order(erp, aufnr)

    @router.post("/production-orders/{aufnr}/confirmations")
    async def confirm_order(aufnr: str, body: JsonBody) -> JSONResponse:
        return replayable(
            *erp.sim.once(
                "afru", _optional_ref(body), lambda: (201, orders.confirm_production_order(erp, aufnr, body))
            )
        )

    @router.post("/production-orders/{aufnr}/teco")
    async def teco(aufnr: str) -> Json:
        with store.tx():
            return orders.teco_production_order(erp, aufnr)

    @router.get("/purchase-orders")
    async def list_pos(STATUS: str | None = None, LIFNR: str | None = None) -> Json:  # noqa: N803
        rows = store.rows(
            "SELECT ebeln FROM ekko WHERE (? IS NULL OR status = ?) AND (? IS NULL OR lifnr = ?) "
            "ORDER BY ebeln",
            (STATUS, STATUS, LIFNR, LIFNR),
        )
        return {"PURCHASE_ORDERS": [orders.purchase_order(erp, r["ebeln"]) for r in rows]}

    @router.get("/purchase-orders/{ebeln}")
    async def get_po(ebeln: str) -> Json:
        return orders.purchase_order(erp, ebeln)

    @router.post("/purchase-orders/{ebeln}/confirmations")
    async def confirm_po(ebeln: str, body: JsonBody) -> JSONResponse:
        return replayable(
            *erp.sim.once(
                "ekes", _optional_ref(body), lambda: (201, orders.confirm_purchase_order(erp, ebeln, body))
            )
        )

    @router.post("/accounting-documents")
    async def post_accounting(body: JsonBody) -> JSONResponse:
        with store.tx():
            doc, existing = accounting.post_accounting(erp, body)
        erp.replayed["accounting_documents"] += existing
        return JSONResponse({**doc, "EXISTING": existing}, status_code=200 if existing else 201)

    @router.get("/accounting-documents")
    async def find_accounting(
        REF_DOC_NO: str | None = None,
        MBLNR: str | None = None,  # noqa: N803
        EBELN: str | None = None,
    ) -> Json:  # noqa: N803
        rows = store.rows(
            "SELECT * FROM bkpf WHERE (? IS NULL OR ref_doc_no = ?) AND (? IS NULL OR mblnr = ?) "
            "AND (? IS NULL OR ebeln = ?) ORDER BY created",
            (REF_DOC_NO, REF_DOC_NO, MBLNR, MBLNR, EBELN, EBELN),
        )
        if REF_DOC_NO and rows:
            erp.replayed["accounting_documents"] += 1
        return {"DOCUMENTS": [accounting.accounting_document(erp, r) for r in rows]}

    return router


def _optional_ref(body: Json) -> str | None:
    ref = body.get("REF")
    return str(ref) if ref not in (None, "") else None


def admin_routes(erp: Erp) -> APIRouter:
    """Drivers for the demo and tests: make the ERP create and release things."""
    router = APIRouter(prefix="/admin")
    store = erp.store

    @router.post("/materials", status_code=201)
    async def add_material(body: JsonBody) -> Json:
        row = (
            text(body, "MATNR"),
            text(body, "MAKTX", False, ""),
            text(body, "MEINS", False, "ST"),
            text(body, "MTART", False, "ROH"),
        )
        with store.tx():
            store.execute("INSERT OR REPLACE INTO mara VALUES (?, ?, ?, ?)", row)
        return dict(zip(("MATNR", "MAKTX", "MEINS", "MTART"), row, strict=True))

    @router.post("/production-orders", status_code=201)
    async def create_order(body: JsonBody) -> Json:
        with store.tx():
            return orders.create_production_order(erp, body)

    @router.post("/production-orders/{aufnr}/release")
    async def release_order(aufnr: str) -> Json:
        with store.tx():
            return orders.release_production_order(erp, aufnr)

    @router.post("/purchase-orders", status_code=201)
    async def create_po(body: JsonBody) -> Json:
        with store.tx():
            return orders.create_purchase_order(erp, body)

    @router.post("/purchase-orders/{ebeln}/approve")
    async def approve_po(ebeln: str) -> Json:
        with store.tx():
            return orders.approve_purchase_order(erp, ebeln)

    @router.put("/purchase-orders/{ebeln}/accounting")
    async def accounting_switch(ebeln: str, body: JsonBody) -> Json:
        orders.purchase_order(erp, ebeln)
        with store.tx():
            store.execute(
                "UPDATE ekko SET acc_fail = ? WHERE ebeln = ?", (1 if body.get("fail") else 0, ebeln)
            )
        return {"EBELN": ebeln, "fail": bool(body.get("fail"))}

    return router


def counts(erp: Erp) -> Json:
    """Document counts for GET /admin/counts."""
    store = erp.store
    by_type = {
        r["bwart"]: r["n"]
        for r in store.rows(
            "SELECT bwart, COUNT(DISTINCT mblnr || mjahr) AS n FROM mseg GROUP BY bwart ORDER BY bwart"
        )
    }
    by_ref = {
        r["ref_doc_no"]: r["n"]
        for r in store.rows(
            "SELECT ref_doc_no, COUNT(*) AS n FROM mkpf WHERE ref_doc_no IS NOT NULL GROUP BY ref_doc_no"
        )
    }
    acc_by_ref = {
        r["ref_doc_no"]: r["n"]
        for r in store.rows(
            "SELECT ref_doc_no, COUNT(*) AS n FROM bkpf WHERE ref_doc_no IS NOT NULL GROUP BY ref_doc_no"
        )
    }
    statuses = {
        r["status"]: r["n"] for r in store.rows("SELECT status, COUNT(*) AS n FROM aufk GROUP BY status")
    }
    return {
        "material_documents": {
            "total": store.scalar("SELECT COUNT(*) FROM mkpf"),
            "by_movement_type": by_type,
            "by_reference": by_ref,
        },
        "accounting_documents": {
            "total": store.scalar("SELECT COUNT(*) FROM bkpf"),
            "by_reference": acc_by_ref,
        },
        "production_orders": {"total": sum(statuses.values()), "by_status": statuses},
        "replayed": dict(erp.replayed),
        "order_confirmations": store.scalar("SELECT COUNT(*) FROM afru"),
        "purchase_orders": store.scalar("SELECT COUNT(*) FROM ekko"),
    }
