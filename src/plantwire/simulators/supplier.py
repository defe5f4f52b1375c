"""A supplier's order portal: receives purchase orders (its own part numbers, the buyer's PO number
and revision), acknowledges each after a configurable delay by per-part rules (accepted, changed
quantity/date, or rejected, per line), and sends ASNs and shipment-delay notices. Its messages are
named after their EDIFACT counterparts: ORDRSP (acknowledgment), DESADV (ASN).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI

from plantwire.simulators.common import (
    Sim,
    SimError,
    build_app,
    iso_ms,
    to_decimal,
    utc_now,
)
from plantwire.simulators.store import EventRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (po TEXT NOT NULL, revision INTEGER NOT NULL, order_id TEXT NOT NULL,
  buyer TEXT, currency TEXT, lines TEXT NOT NULL, status TEXT NOT NULL, ack TEXT, received REAL NOT NULL,
  PRIMARY KEY (po, revision));
CREATE TABLE IF NOT EXISTS asns (asn TEXT PRIMARY KEY, po TEXT NOT NULL, body TEXT NOT NULL,
  created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS delays (notice_id TEXT PRIMARY KEY, po TEXT NOT NULL, body TEXT NOT NULL,
  created REAL NOT NULL);
"""
DEFAULT_RULES: dict[str, Any] = {
    "ackDelaySeconds": 1.0,
    "default": "accept",
    "parts": {},
    "autoShipSeconds": None,
}
Json = dict[str, Any]


def supplier_error(status: int, error: str, detail: str) -> SimError:
    """The portal's error shape."""
    return SimError(status, {"error": error, "detail": detail})


def envelope(event: EventRow) -> Json:
    """A supplier message as pushed and polled."""
    return {
        "seq": event.seq,
        "messageId": f"SUP-{event.seq:06d}",
        "messageType": event.type,
        "sentAt": iso_ms(event.ts),
        "sender": "ACME-COMPONENTS",
        "content": event.data,
    }


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class Supplier:
    """The supplier's state and behaviour."""

    def __init__(self, data_dir: Path) -> None:
        self.sim = Sim("supplier", data_dir, SCHEMA, envelope)
        self.store = self.sim.store
        self.sim.timers["ack"] = lambda p: self.acknowledge(p["po"], p["revision"])
        self.sim.timers["ship"] = lambda p: self.ship(p["po"], {})
        # called with every new acknowledgment, in its transaction (the EDI channel queues its 855)
        self.on_ack: list[Callable[[Json], None]] = []

    def rules(self) -> Json:
        """The acknowledgment rules in force."""
        return {**DEFAULT_RULES, **self.store.setting("rules", {})}

    def order(self, po: str, revision: int | None = None) -> Json:
        """The latest (or a given) revision of an order, or 404."""
        row = self.store.row(
            "SELECT * FROM orders WHERE po = ? AND (? IS NULL OR revision = ?) "
            "ORDER BY revision DESC LIMIT 1",
            (po, revision, revision),
        )
        if row is None:
            raise supplier_error(404, "ORDER_NOT_FOUND", f"no purchase order {po}")
        asns = [
            orjson.loads(r["body"])
            for r in self.store.rows("SELECT body FROM asns WHERE po = ? ORDER BY created, asn", (po,))
        ]
        return {
            "orderId": row["order_id"],
            "buyerPoNumber": row["po"],
            "revision": row["revision"],
            "buyer": row["buyer"],
            "currency": row["currency"],
            "status": row["status"],
            "lines": orjson.loads(row["lines"]),
            "acknowledgment": orjson.loads(row["ack"] or "null"),
            "shipments": asns,
        }

    def receive(self, body: Json) -> tuple[int, Json]:
        """Take a purchase order; the same PO number and revision again is a duplicate, not a new order."""
        po, revision = str(body.get("buyerPoNumber") or ""), int(body.get("revision") or 0)
        if not po:
            raise supplier_error(400, "INVALID_ORDER", "buyerPoNumber is required")
        latest = self.store.scalar("SELECT MAX(revision) FROM orders WHERE po = ?", (po,))
        if latest is not None and revision <= latest:
            if revision < latest:
                raise supplier_error(409, "STALE_REVISION", f"PO {po} is at revision {latest}")
            return 200, {**self.order(po, revision), "duplicate": True}
        lines = [self._line(n, raw) for n, raw in enumerate(body.get("lines") or [], start=1)]
        if not lines:
            raise supplier_error(400, "INVALID_ORDER", "lines is required")
        order_id = f"SO-{self.store.next_number('SO', 70001)}"
        self.store.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, 'RECEIVED', NULL, ?)",
            (
                po,
                revision,
                order_id,
                body.get("buyer"),
                body.get("currency") or "EUR",
                orjson.dumps(lines).decode(),
                time.time(),
            ),
        )
        self.store.schedule("ack", float(self.rules()["ackDelaySeconds"]), {"po": po, "revision": revision})
        self.sim.emit(
            "ORDERS_RECEIPT", {"orderId": order_id, "buyerPoNumber": po, "revision": revision}, key=po
        )
        return 202, {**self.order(po, revision), "duplicate": False}

    @staticmethod
    def _line(n: int, raw: Any) -> Json:
        if not isinstance(raw, dict) or not raw.get("supplierPart"):
            raise supplier_error(400, "INVALID_ORDER", f"line {n}: supplierPart is required")
        qty = to_decimal(raw.get("quantity"))
        if qty is None or qty <= 0:
            raise supplier_error(400, "INVALID_ORDER", f"line {n}: quantity must be positive")
        return {
            "lineNo": int(raw.get("lineNo") or n),
            "supplierPart": str(raw["supplierPart"]),
            "quantity": _num(qty),
            "unit": str(raw.get("unit") or "PCE"),
            "unitPrice": raw.get("unitPrice"),
            "requestedDate": str(raw.get("requestedDate") or (date.today() + timedelta(days=7)).isoformat()),
        }

    def acknowledge(self, po: str, revision: int | None = None) -> Json:
        """Send the ORDRSP for an order revision (once), line by line as the rules say."""
        order = self.order(po, revision)
        if order["acknowledgment"] is not None:
            return dict(order["acknowledgment"])
        rules = self.rules()
        lines = [self._ack_line(line, rules) for line in order["lines"]]
        states = {line["status"] for line in lines}
        ack = {
            "ackId": f"ACK-{po}-{order['revision']}",
            "orderId": order["orderId"],
            "buyerPoNumber": po,
            "revision": order["revision"],
            "status": states.pop() if len(states) == 1 else "PARTIAL",
            "lines": lines,
            "sentAt": utc_now().isoformat(timespec="seconds"),
        }
        self.store.execute(
            "UPDATE orders SET ack = ?, status = 'ACKNOWLEDGED' WHERE po = ? AND revision = ?",
            (orjson.dumps(ack).decode(), po, order["revision"]),
        )
        self.sim.emit("ORDRSP", ack, key=po)
        for hook in self.on_ack:
            hook(ack)
        if rules.get("autoShipSeconds") is not None and ack["status"] != "REJECTED":
            self.store.schedule("ship", float(rules["autoShipSeconds"]), {"po": po})
        return ack

    @staticmethod
    def _ack_line(line: Json, rules: Json) -> Json:
        rule = rules.get("parts", {}).get(line["supplierPart"]) or {"action": rules.get("default", "accept")}
        action = str(rule.get("action", "accept")).lower()
        qty, when = Decimal(str(line["quantity"])), date.fromisoformat(line["requestedDate"])
        out = {
            "lineNo": line["lineNo"],
            "supplierPart": line["supplierPart"],
            "quantity": line["quantity"],
            "requestedDate": line["requestedDate"],
        }
        if action == "reject":
            return {
                **out,
                "status": "REJECTED",
                "confirmedQuantity": 0,
                "confirmedDate": None,
                "reason": rule.get("reason", "cannot supply"),
            }
        if action == "change":
            if rule.get("quantity") is not None:
                qty = Decimal(str(rule["quantity"]))
            elif rule.get("factor") is not None:
                qty = (qty * Decimal(str(rule["factor"]))).quantize(Decimal(1))
            when += timedelta(days=int(rule.get("shiftDays", 0)))
            return {
                **out,
                "status": "CHANGED",
                "confirmedQuantity": _num(qty),
                "confirmedDate": when.isoformat(),
                "reason": rule.get("reason", "capacity"),
            }
        return {
            **out,
            "status": "ACCEPTED",
            "confirmedQuantity": line["quantity"],
            "confirmedDate": line["requestedDate"],
            "reason": None,
        }

    def ship(self, po: str, body: Json) -> Json:
        """Send a DESADV (ASN): the given lines, or everything confirmed and not yet shipped."""
        order = self.order(po)
        ack = order["acknowledgment"] or self.acknowledge(po)
        shipped: dict[int, Decimal] = {}
        for asn in order["shipments"]:
            for line in asn["lines"]:
                shipped[line["lineNo"]] = shipped.get(line["lineNo"], Decimal(0)) + Decimal(
                    str(line["quantity"])
                )
        units = {line["lineNo"]: line["unit"] for line in order["lines"]}
        wanted = body.get("lines") or [
            {
                "lineNo": a["lineNo"],
                "quantity": _num(Decimal(str(a["confirmedQuantity"])) - shipped.get(a["lineNo"], Decimal(0))),
            }
            for a in ack["lines"]
            if a["status"] != "REJECTED"
        ]
        asn_no = f"ASN-{self.store.next_number('ASN', 1):06d}"
        lines = [
            {
                "lineNo": w["lineNo"],
                "supplierPart": next(a["supplierPart"] for a in ack["lines"] if a["lineNo"] == w["lineNo"]),
                "quantity": w["quantity"],
                "unit": units.get(w["lineNo"], "PCE"),
                "lot": str(w.get("lot") or f"ACME-{asn_no[4:]}-{w['lineNo']}"),
            }
            for w in wanted
            if Decimal(str(w["quantity"])) > 0
        ]
        if not lines:
            raise supplier_error(409, "NOTHING_TO_SHIP", f"PO {po} has nothing left to ship")
        today = utc_now().date()
        asn = {
            "asnNumber": asn_no,
            "orderId": order["orderId"],
            "buyerPoNumber": po,
            "revision": order["revision"],
            "shipDate": today.isoformat(),
            "expectedDelivery": (today + timedelta(days=2)).isoformat(),
            "carrier": "DHL",
            "trackingNumber": f"JD{self.store.next_number('TRACK', 100000001)}",
            "lines": lines,
        }
        self.store.execute(
            "INSERT INTO asns VALUES (?, ?, ?, ?)", (asn_no, po, orjson.dumps(asn).decode(), time.time())
        )
        self.store.execute(
            "UPDATE orders SET status = 'SHIPPED' WHERE po = ? AND revision = ?", (po, order["revision"])
        )
        self.sim.emit("DESADV", asn, key=po)
        return asn

    def delay(self, po: str, body: Json) -> Json:
        """Announce that a shipment (or one line) will be late."""
        order = self.order(po)
        line_no = body.get("lineNo")
        first = next((ln for ln in order["lines"] if line_no in (None, ln["lineNo"])), order["lines"][0])
        new_date = (
            body.get("newDate")
            or (date.fromisoformat(first["requestedDate"]) + timedelta(days=3)).isoformat()
        )
        notice = {
            "noticeId": f"DLY-{self.store.next_number('DLY', 1):06d}",
            "orderId": order["orderId"],
            "buyerPoNumber": po,
            "lineNo": line_no,
            "originalDate": first["requestedDate"],
            "newDate": new_date,
            "reason": body.get("reason") or "carrier capacity",
        }
        self.store.execute(
            "INSERT INTO delays VALUES (?, ?, ?, ?)",
            (notice["noticeId"], po, orjson.dumps(notice).decode(), time.time()),
        )
        self.sim.emit("DELAY_NOTICE", notice, key=po)
        return notice


def create_app(data_dir: Path) -> FastAPI:
    """The supplier simulator's ASGI app on a data directory."""
    from plantwire.simulators.supplier_edi import SupplierEdi
    from plantwire.simulators.supplier_edi_routes import edi_routes
    from plantwire.simulators.supplier_routes import counts, routes

    sup = Supplier(data_dir)
    edi = SupplierEdi(sup)
    router = routes(sup)
    router.include_router(edi_routes(edi))
    return build_app(sup.sim, router, lambda: {**counts(sup), "edi": edi.counts()},
                     "Supplier portal simulator")
