"""An MES: work orders downloaded from the ERP (WO-... ids, its own part numbers, units pcs/kg/m),
operations and lots; when told to run an order it announces material consumption and production
reports (good and scrap quantities, lot, final flag), partial or final, in its own camelCase words.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI

from plantwire.simulators.common import Sim, SimError, build_app, iso_ms, to_decimal
from plantwire.simulators.store import EventRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS work_orders (wo_id TEXT PRIMARY KEY, erp_order TEXT NOT NULL UNIQUE,
  revision INTEGER NOT NULL, part TEXT NOT NULL, qty TEXT NOT NULL, uom TEXT NOT NULL,
  status TEXT NOT NULL, due TEXT, line TEXT NOT NULL, operations TEXT NOT NULL, good TEXT NOT NULL,
  scrap TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS wo_bom (wo_id TEXT NOT NULL, pos INTEGER NOT NULL, part TEXT NOT NULL,
  qty TEXT NOT NULL, uom TEXT NOT NULL, location TEXT NOT NULL, consumed TEXT NOT NULL,
  PRIMARY KEY (wo_id, pos));
CREATE TABLE IF NOT EXISTS messages (msg_id TEXT PRIMARY KEY, wo_id TEXT NOT NULL, kind TEXT NOT NULL,
  body TEXT NOT NULL, created REAL NOT NULL);
"""
UNITS = ("pcs", "kg", "m")
Json = dict[str, Any]


def mes_error(status: int, code: str, message: str) -> SimError:
    """The MES's error shape."""
    return SimError(status, {"error": {"code": code, "message": message}})


def envelope(event: EventRow) -> Json:
    """An MES event as pushed and polled."""
    return {
        "seq": event.seq,
        "eventId": f"mes-{event.seq:08d}",
        "eventType": event.type,
        "occurredAt": iso_ms(event.ts),
        "payload": event.data,
    }


def _num(value: Decimal, uom: str) -> int | float:
    """A quantity as the MES writes it: a JSON number, whole for pieces."""
    return int(value) if uom == "pcs" else float(value)


def _round(value: Decimal, uom: str) -> Decimal:
    return value.quantize(Decimal(1) if uom == "pcs" else Decimal("0.001"), rounding=ROUND_HALF_UP)


def _qty(value: Any, field: str, allow_zero: bool = False) -> Decimal:
    found = to_decimal(value)
    if found is None or found < 0 or (found == 0 and not allow_zero):
        raise mes_error(400, "INVALID_QUANTITY", f"{field} must be a positive number, got {value!r}")
    return found


def _unit(value: Any) -> str:
    unit = str(value or "pcs")
    if unit not in UNITS:
        raise mes_error(400, "UNKNOWN_UOM", f"unit {unit!r} is not one of {', '.join(UNITS)}")
    return unit


class Mes:
    """The MES's state and behaviour."""

    def __init__(self, data_dir: Path) -> None:
        self.sim = Sim("mes", data_dir, SCHEMA, envelope)
        self.store = self.sim.store

    def work_order(self, ref: str) -> Json:
        """A work order by WO id or ERP order number, or 404."""
        row = self.store.row("SELECT * FROM work_orders WHERE wo_id = ? OR erp_order = ?", (ref, ref))
        if row is None:
            raise mes_error(404, "WO_NOT_FOUND", f"work order {ref} not found")
        bom = self.store.rows("SELECT * FROM wo_bom WHERE wo_id = ? ORDER BY pos", (row["wo_id"],))
        uom = row["uom"]
        return {
            "woId": row["wo_id"],
            "erpOrderNumber": row["erp_order"],
            "revision": row["revision"],
            "partNumber": row["part"],
            "quantity": _num(Decimal(row["qty"]), uom),
            "uom": uom,
            "status": row["status"],
            "dueDate": row["due"],
            "line": row["line"],
            "operations": orjson.loads(row["operations"]),
            "goodQty": _num(Decimal(row["good"]), uom),
            "scrapQty": _num(Decimal(row["scrap"]), uom),
            "bom": [
                {
                    "position": b["pos"],
                    "partNumber": b["part"],
                    "quantity": _num(Decimal(b["qty"]), b["uom"]),
                    "uom": b["uom"],
                    "location": b["location"],
                    "consumed": _num(Decimal(b["consumed"]), b["uom"]),
                }
                for b in bom
            ],
        }

    def download(self, body: Json) -> tuple[int, Json]:
        """Accept an order download; a repeat of the same ERP order and revision changes nothing."""
        erp_order = str(body.get("erpOrderNumber") or "")
        if not erp_order:
            raise mes_error(400, "MISSING_FIELD", "erpOrderNumber is required")
        revision = int(body.get("revision") or 0)
        known = self.store.row(
            "SELECT wo_id, revision, status FROM work_orders WHERE erp_order = ?", (erp_order,)
        )
        if known is not None and revision <= known["revision"]:
            return 200, {**self.work_order(known["wo_id"]), "duplicate": True}
        if known is not None and known["status"] != "DOWNLOADED":
            raise mes_error(
                409,
                "WO_IN_PROGRESS",
                f"work order {known['wo_id']} is {known['status']}; "
                f"revision {revision} can no longer be applied",
            )
        wo_id = known["wo_id"] if known else f"WO-{self.store.next_number('WO', 100001)}"
        self._write(wo_id, erp_order, revision, body)
        self.sim.emit(
            "WorkOrderUpdated" if known else "WorkOrderDownloaded", self.work_order(wo_id), key=wo_id
        )
        return (200 if known else 201), {**self.work_order(wo_id), "duplicate": False}

    def _write(self, wo_id: str, erp_order: str, revision: int, body: Json) -> None:
        part = str(body.get("partNumber") or "")
        if not part:
            raise mes_error(400, "MISSING_FIELD", "partNumber is required")
        uom, qty = _unit(body.get("uom")), _qty(body.get("quantity"), "quantity")
        ops = body.get("operations") or [
            {"opNo": 10, "description": "Assemble", "workCenter": "ASSY-1"},
            {"opNo": 20, "description": "Test and pack", "workCenter": "TEST-1"},
        ]
        self.store.execute("DELETE FROM work_orders WHERE wo_id = ?", (wo_id,))
        self.store.execute("DELETE FROM wo_bom WHERE wo_id = ?", (wo_id,))
        self.store.execute(
            "INSERT INTO work_orders VALUES (?,?,?,?,?,?,'DOWNLOADED',?,?,?,'0','0',?)",
            (
                wo_id,
                erp_order,
                revision,
                part,
                str(qty),
                uom,
                body.get("dueDate"),
                str(body.get("line") or "LINE-1"),
                orjson.dumps(ops).decode(),
                time.time(),
            ),
        )
        for pos, comp in enumerate(body.get("bom") or [], start=1):
            cuom = _unit(comp.get("uom"))
            self.store.execute(
                "INSERT INTO wo_bom VALUES (?, ?, ?, ?, ?, ?, '0')",
                (
                    wo_id,
                    pos,
                    str(comp.get("partNumber") or ""),
                    str(_qty(comp.get("quantity"), "bom.quantity")),
                    cuom,
                    str(comp.get("location") or "LINESIDE-1"),
                ),
            )

    def run(self, ref: str, body: Json) -> Json:
        """Produce: consumption messages and production reports, in `reports` partial steps."""
        wo = self.work_order(ref)
        if wo["status"] in ("COMPLETED", "CANCELLED"):
            raise mes_error(409, "WO_CLOSED", f"work order {wo['woId']} is {wo['status']}")
        uom, total = wo["uom"], Decimal(str(wo["quantity"]))
        done = Decimal(str(wo["goodQty"])) + Decimal(str(wo["scrapQty"]))
        scrap = _qty(body.get("scrapQty", 0), "scrapQty", allow_zero=True)
        good = (
            _qty(body["goodQty"], "goodQty", allow_zero=True)
            if body.get("goodQty") is not None
            else max(Decimal(0), total - done - scrap)
        )
        final = bool(body.get("final", done + good + scrap >= total))
        steps = max(1, int(body.get("reports") or 1))
        lot = str(body.get("lot") or f"{wo['woId']}-L{self.store.next_number('LOT', 1):03d}")
        if wo["status"] == "DOWNLOADED":
            self.set_status(wo["woId"], "RUNNING", "WorkOrderStarted")
        messages = []
        for n in range(steps):
            last = n == steps - 1
            g = good - _round(good / steps, uom) * (steps - 1) if last else _round(good / steps, uom)
            s = scrap if last else Decimal(0)
            messages += self._consume(wo, g + s, body.get("componentLots") or {}, final and last)
            messages.append(self._report(wo, g, s, lot, final and last))
        if final:
            self.set_status(wo["woId"], "COMPLETED", "WorkOrderCompleted")
        return {"woId": wo["woId"], "messages": messages, "workOrder": self.work_order(wo["woId"])}

    def set_status(self, wo_id: str, status: str, event: str) -> None:
        self.store.execute("UPDATE work_orders SET status = ? WHERE wo_id = ?", (status, wo_id))
        self.sim.emit(event, self.work_order(wo_id), key=wo_id)

    def _consume(self, wo: Json, made: Decimal, lots: Json, final: bool) -> list[Json]:
        out = []
        total = Decimal(str(wo["quantity"]))
        for comp in wo["bom"]:
            need, used = Decimal(str(comp["quantity"])), Decimal(str(comp["consumed"]))
            qty = need - used if final else _round(need * made / total, comp["uom"])
            if qty <= 0:
                continue
            self.store.execute(
                "UPDATE wo_bom SET consumed = ? WHERE wo_id = ? AND pos = ?",
                (str(used + qty), wo["woId"], comp["position"]),
            )
            comp["consumed"] = _num(used + qty, comp["uom"])
            msg = {
                "messageId": f"CM-{self.store.next_number('CM', 1):08d}",
                "woId": wo["woId"],
                "erpOrderNumber": wo["erpOrderNumber"],
                "partNumber": comp["partNumber"],
                "quantity": _num(qty, comp["uom"]),
                "uom": comp["uom"],
                "lot": str(lots.get(comp["partNumber"]) or f"SUPLOT-{comp['partNumber']}"),
                "location": comp["location"],
                "consumedAt": _now(),
            }
            out.append(self._message(msg, "consumption", "MaterialConsumed"))
        return out

    def _report(self, wo: Json, good: Decimal, scrap: Decimal, lot: str, final: bool) -> Json:
        row = self.store.row("SELECT good, scrap FROM work_orders WHERE wo_id = ?", (wo["woId"],))
        assert row is not None
        self.store.execute(
            "UPDATE work_orders SET good = ?, scrap = ? WHERE wo_id = ?",
            (str(Decimal(row["good"]) + good), str(Decimal(row["scrap"]) + scrap), wo["woId"]),
        )
        last_op = wo["operations"][-1]["opNo"] if wo["operations"] else 10
        msg = {
            "messageId": f"PR-{self.store.next_number('PR', 1):08d}",
            "woId": wo["woId"],
            "erpOrderNumber": wo["erpOrderNumber"],
            "partNumber": wo["partNumber"],
            "operation": last_op,
            "goodQty": _num(good, wo["uom"]),
            "scrapQty": _num(scrap, wo["uom"]),
            "uom": wo["uom"],
            "lot": lot,
            "final": final,
            "reportedAt": _now(),
        }
        return self._message(msg, "report", "ProductionReported")

    def _message(self, msg: Json, kind: str, event: str) -> Json:
        self.store.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?)",
            (msg["messageId"], msg["woId"], kind, orjson.dumps(msg).decode(), time.time()),
        )
        self.sim.emit(event, msg, key=msg["woId"])
        return msg


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_app(data_dir: Path) -> FastAPI:
    """The MES simulator's ASGI app on a data directory."""
    from plantwire.simulators.mes_routes import counts, routes

    mes = Mes(data_dir)
    return build_app(mes.sim, routes(mes), lambda: counts(mes), "MES simulator")
