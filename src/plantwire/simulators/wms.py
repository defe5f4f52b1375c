"""A WMS: handling units (HU-...) of its own SKUs in bins (aisle-rack-level, e.g. 01-02-03); staging
requests that move component HUs to a line-side bin, put-away of finished goods, goods receipt of
an ASN or PO, quality holds by lot, and stock queries. Tasks are confirmed after a delay (a timer,
`autoConfirmSeconds`) or by the admin driver. Commands dedupe on an Idempotency-Key header (or a
`reference` field). HTTP routes are in wms_routes.py.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from plantwire.simulators.common import Sim, SimError, build_app, to_decimal
from plantwire.simulators.store import EventRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS hus (hu_id TEXT PRIMARY KEY, sku TEXT NOT NULL, qty TEXT NOT NULL,
  uom TEXT NOT NULL, lot TEXT NOT NULL, bin TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hus_sku ON hus (sku, status);
CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL,
  request_id TEXT NOT NULL, order_ref TEXT, hu_id TEXT NOT NULL, from_bin TEXT NOT NULL,
  to_bin TEXT NOT NULL, created REAL NOT NULL, confirmed REAL);
CREATE TABLE IF NOT EXISTS requests (request_id TEXT PRIMARY KEY, kind TEXT NOT NULL, order_ref TEXT,
  status TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (receipt_id TEXT PRIMARY KEY, asn TEXT, po TEXT, created REAL NOT NULL);
"""
LINE_BIN, DOCK_BIN = "90-01-01", "00-00-01"
UNITS = ("EA", "KG", "M")
DEFAULT_AUTO_CONFIRM_S = 2.0
Json = dict[str, Any]


def wms_error(status: int, code: str, message: str) -> SimError:
    """The WMS's error shape."""
    return SimError(status, {"status": "ERROR", "code": code, "message": message})


def envelope(event: EventRow) -> Json:
    """A WMS event as pushed and polled: epoch-millisecond timestamps."""
    return {
        "seq": event.seq,
        "event_id": f"WMSE{event.seq:08d}",
        "event": event.type,
        "ts": int(event.ts * 1000),
        "warehouse": "WH1",
        "body": event.data,
    }


def number(value: Decimal) -> int | float:
    """A quantity as the WMS writes it."""
    return int(value) if value == value.to_integral_value() else float(value)


def positive(value: Any, field: str) -> Decimal:
    """A positive quantity or a 400."""
    found = to_decimal(value)
    if found is None or found <= 0:
        raise wms_error(400, "BAD_QUANTITY", f"{field} must be a positive number, got {value!r}")
    return found


def required(body: Json, field: str) -> str:
    """A required text field or a 400."""
    value = body.get(field)
    if value in (None, ""):
        raise wms_error(400, "MISSING_FIELD", f"{field} is required")
    return str(value)


class Wms:
    """The WMS's state and behaviour."""

    def __init__(self, data_dir: Path) -> None:
        self.sim = Sim("wms", data_dir, SCHEMA, envelope)
        self.store = self.sim.store
        self.sim.timers["confirm_task"] = lambda p: self.confirm_task(p["taskId"], missing_ok=True)

    # -- views --------------------------------------------------------------------------------
    def hu(self, hu_id: str) -> Json:
        """A handling unit, or 404."""
        row = self.store.row("SELECT * FROM hus WHERE hu_id = ?", (hu_id,))
        if row is None:
            raise wms_error(404, "HU_NOT_FOUND", f"handling unit {hu_id} not found")
        return {
            "huId": row["hu_id"],
            "sku": row["sku"],
            "qty": number(Decimal(row["qty"])),
            "uom": row["uom"],
            "lot": row["lot"],
            "bin": row["bin"],
            "status": row["status"],
        }

    def task(self, task_id: str) -> Json:
        """A task with its handling unit, or 404."""
        row = self.store.row("SELECT * FROM tasks WHERE task_id = ?", (task_id,))
        if row is None:
            raise wms_error(404, "TASK_NOT_FOUND", f"task {task_id} not found")
        hu = self.hu(row["hu_id"])
        return {
            "taskId": row["task_id"],
            "type": row["type"],
            "status": row["status"],
            "requestId": row["request_id"],
            "orderRef": row["order_ref"],
            "huId": row["hu_id"],
            "sku": hu["sku"],
            "qty": hu["qty"],
            "uom": hu["uom"],
            "lot": hu["lot"],
            "fromBin": row["from_bin"],
            "toBin": row["to_bin"],
        }

    def request(self, request_id: str) -> Json:
        """A staging or put-away request with its tasks, or 404."""
        row = self.store.row("SELECT * FROM requests WHERE request_id = ?", (request_id,))
        if row is None:
            raise wms_error(404, "REQUEST_NOT_FOUND", f"request {request_id} not found")
        tasks = self.store.rows(
            "SELECT task_id FROM tasks WHERE request_id = ? ORDER BY task_id", (request_id,)
        )
        return {
            "requestId": row["request_id"],
            "kind": row["kind"],
            "orderRef": row["order_ref"],
            "status": row["status"],
            "tasks": [self.task(t["task_id"]) for t in tasks],
        }

    # -- handling units and tasks -------------------------------------------------------------
    def new_hu(self, sku: str, qty: Decimal, uom: str, lot: str, bin_: str, status: str) -> str:
        """Create a handling unit."""
        if uom not in UNITS:
            raise wms_error(400, "BAD_UOM", f"uom {uom!r} is not one of {', '.join(UNITS)}")
        hu_id = f"HU-{self.store.next_number('HU', 1):08d}"
        self.store.execute(
            "INSERT INTO hus VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (hu_id, sku, str(qty), uom, lot, bin_, status, time.time()),
        )
        return hu_id

    def new_task(
        self, type_: str, request_id: str, order_ref: str | None, hu_id: str, from_bin: str, to_bin: str
    ) -> Json:
        """Create an open task, announce it and schedule its confirmation."""
        task_id = f"T-{self.store.next_number('TASK', 1):07d}"
        self.store.execute(
            "INSERT INTO tasks VALUES (?, ?, 'OPEN', ?, ?, ?, ?, ?, ?, NULL)",
            (task_id, type_, request_id, order_ref, hu_id, from_bin, to_bin, time.time()),
        )
        task = self.task(task_id)
        self.sim.emit("TASK_CREATED", task, key=task_id)
        delay = self.store.setting("autoConfirmSeconds", DEFAULT_AUTO_CONFIRM_S)
        if delay is not None:
            self.store.schedule("confirm_task", float(delay), {"taskId": task_id})
        return task

    def confirm_task(self, task_id: str, missing_ok: bool = False) -> Json:
        """Confirm an open task: the HU arrives in the target bin; a finished request is announced."""
        row = self.store.row("SELECT * FROM tasks WHERE task_id = ?", (task_id,))
        if row is None:
            if missing_ok:
                return {}
            raise wms_error(404, "TASK_NOT_FOUND", f"task {task_id} not found")
        if row["status"] == "CONFIRMED":
            return self.task(task_id)
        self.store.execute(
            "UPDATE hus SET bin = ?, status = CASE status WHEN 'HOLD' THEN 'HOLD' "
            "ELSE 'AVAILABLE' END WHERE hu_id = ?",
            (row["to_bin"], row["hu_id"]),
        )
        self.store.execute(
            "UPDATE tasks SET status = 'CONFIRMED', confirmed = ? WHERE task_id = ?", (time.time(), task_id)
        )
        task = self.task(task_id)
        self.sim.emit("TASK_CONFIRMED", task, key=task_id)
        open_left = self.store.scalar(
            "SELECT COUNT(*) FROM tasks WHERE request_id = ? AND status = 'OPEN'", (row["request_id"],)
        )
        if not open_left:
            self.store.execute(
                "UPDATE requests SET status = 'COMPLETED' WHERE request_id = ?", (row["request_id"],)
            )
            req = self.request(row["request_id"])
            self.sim.emit(f"{req['kind']}_COMPLETED", req, key=req["requestId"])
        return task

    def new_request(self, kind: str, order_ref: str | None) -> str:
        """Open a staging or put-away request."""
        prefix = {"STAGING": "SR", "PUTAWAY": "PA"}[kind]
        request_id = f"{prefix}-{self.store.next_number(kind, 1):06d}"
        self.store.execute(
            "INSERT INTO requests VALUES (?, ?, ?, 'OPEN', ?)", (request_id, kind, order_ref, time.time())
        )
        return request_id


def create_app(data_dir: Path) -> FastAPI:
    """The WMS simulator's ASGI app on a data directory."""
    from plantwire.simulators.wms_routes import counts, routes

    wms = Wms(data_dir)
    return build_app(wms.sim, routes(wms), lambda: counts(wms), "WMS simulator")
