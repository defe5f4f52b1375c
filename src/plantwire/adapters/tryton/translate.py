"""Pure mapping between Tryton records (as read over JSON-RPC) and the canonical model.

Inbound: a purchase in ``processing`` -> ``procurement.po.approved``; a production in ``waiting`` or
``assigned`` -> ``production.order.released`` (its input moves, the BOM exploded, are the
components); a supplier shipment put away (``done``) that the hub did not create ->
``procurement.goods.received``. Event ids are ``<model>-<id>/<lifecycle>/r<revision>``: Tryton core
keeps no document revisions, so the revision is 1, and waiting/assigned are one lifecycle step
("released"), so re-polling or a later state change never makes a second event.
Outbound: helpers that build Tryton values from canonical commands.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from plantwire.adapters.simfeed import cloud_event, plain
from plantwire.adapters.tryton.mapping import TrytonMapping

Json = dict[str, Any]
MARK = "PW:"
"""Prefix of the `reference` the sink writes: documents with it are the hub's own (no echo)."""
RECEIPT_PREFIX = "TRYTON-IS-"
REVISION = 1
RELEASED_STATES = frozenset({"waiting", "assigned"})


def reference(idempotency_key: str) -> str:
    """The `reference` that carries an idempotency key into Tryton (hashed when long)."""
    if len(idempotency_key) <= 100:
        return MARK + idempotency_key
    return MARK + "h-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def short_key(idempotency_key: str) -> str:
    """An 8-hex digest of a key, for ledgers kept in a short field."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:8]


def modified(record: Json) -> dt.datetime:
    """When a record last changed: write_date, or create_date for one never written."""
    stamp = record.get("write_date") or record.get("create_date")
    assert isinstance(stamp, dt.datetime)
    return stamp


def iso(stamp: dt.datetime) -> str:
    """A Tryton timestamp (UTC, naive) as ISO 8601."""
    return stamp.replace(tzinfo=dt.UTC).isoformat()


def _day(value: dt.date | None, later: int = 0) -> str:
    day = (value or dt.date(1970, 1, 1)) + dt.timedelta(days=later)
    return dt.datetime.combine(day, dt.time(0), dt.UTC).isoformat()


def _qty(value: Any, unit_symbol: str, m: TrytonMapping) -> Json:
    return {"value": plain(value), "uom": m.units.to_golden(unit_symbol)}


def line_numbers(line_ids: list[int]) -> dict[int, int]:
    """Purchase line id -> the canonical line number (1-based, in id order), both ways stable."""
    return {line_id: n for n, line_id in enumerate(sorted(line_ids), start=1)}


def po_approved(po: Json, lines: list[Json], m: TrytonMapping) -> Json:
    """A purchase in processing -> procurement.po.approved.

    `po` has number, party.code, warehouse.code, currency.code, purchase_date, write_date; each line
    id, product.code, unit.symbol, quantity, unit_price, delivery_date."""
    plant = m.plants.to_golden(po["warehouse."]["code"])
    numbers = line_numbers([ln["id"] for ln in lines])
    data = {"po_number": po["number"], "revision": REVISION, "plant": plant,
            "supplier_id": m.parties.to_golden(po["party."]["code"]), "currency": po["currency."]["code"],
            "approved_at": iso(modified(po)),
            "lines": [{"line": numbers[ln["id"]], "item_id": m.items.to_golden(ln["product."]["code"]),
                       "quantity": _qty(ln["quantity"], ln["unit."]["symbol"], m),
                       "unit_price": plain(ln["unit_price"] or 0),
                       "delivery_date": (ln.get("delivery_date") or po.get("purchase_date")
                                         or modified(po).date()).isoformat()}
                      for ln in sorted(lines, key=lambda x: x["id"])]}
    return cloud_event(f"tryton/{plant}", f"purchase-{po['id']}/processing/r{REVISION}",
                       "procurement.po.approved", data, iso(modified(po)), plant)


def order_released(production: Json, inputs: list[Json], m: TrytonMapping) -> Json:
    """A production in waiting/assigned -> production.order.released, components from its input moves
    (grouped by product and location: assigning splits a move per bin it picks from)."""
    plant = m.plants.to_golden(production["warehouse."]["code"])
    grouped: dict[tuple[str, str, str], Decimal] = {}
    for mv in sorted(inputs, key=lambda x: x["id"]):
        if mv["state"] == "cancelled":
            continue
        key = (mv["product."]["code"], mv["from_location."]["code"] or "", mv["unit."]["symbol"])
        grouped[key] = grouped.get(key, Decimal(0)) + Decimal(str(mv["quantity"]))
    components = []
    for n, ((product, location, unit), qty) in enumerate(grouped.items(), start=1):
        comp: Json = {"line": n, "item_id": m.items.to_golden(product), "quantity": _qty(qty, unit, m)}
        if location:
            comp["storage_location"] = m.locations.to_golden(location)
        components.append(comp)
    data = {"order_id": production["number"], "plant": plant,
            "item_id": m.items.to_golden(production["product."]["code"]),
            "quantity": _qty(production["quantity"], production["unit."]["symbol"], m),
            "scheduled_start": _day(production.get("planned_start_date") or production.get("planned_date")),
            "scheduled_end": _day(production.get("planned_date"), later=1),
            "components": components}
    if production.get("planned_date"):
        data["due_date"] = production["planned_date"].isoformat()
    return cloud_event(f"tryton/{plant}", f"production-{production['id']}/released/r{REVISION}",
                       "production.order.released", data, iso(modified(production)), plant)


def goods_received(shipment: Json, moves: list[Json], purchases: Mapping[int, Json],
                   m: TrytonMapping) -> Json | None:
    """A done supplier shipment made in Tryton -> procurement.goods.received (None: not a PO receipt).

    `moves` are its inventory moves (to where the goods were put away) with origin purchase lines
    resolved in `purchases`: purchase line id -> {number, line ids}."""
    plant = m.plants.to_golden(shipment["warehouse."]["code"])
    lines, po_number = [], None
    for n, mv in enumerate(sorted(moves, key=lambda x: x["id"]), start=1):
        line_id = mv["purchase_line"]
        po = purchases.get(line_id) if line_id else None
        if po is None:
            continue
        po_number = po_number or po["number"]
        lines.append({"line": n, "po_line": line_numbers(po["lines"])[line_id],
                      "item_id": m.items.to_golden(mv["product."]["code"]),
                      "quantity": _qty(mv["quantity"], mv["unit."]["symbol"], m),
                      "storage_location": m.locations.to_golden(mv["to_location."]["code"])})
    if not lines or po_number is None:
        return None
    data = {"receipt_id": RECEIPT_PREFIX + str(shipment["number"]), "po_number": po_number, "plant": plant,
            "supplier_id": m.parties.to_golden(shipment["supplier."]["code"]), "lines": lines,
            "received_at": iso(modified(shipment))}
    return cloud_event(f"tryton/{plant}", f"shipment.in-{shipment['id']}/received/r{REVISION}",
                       "procurement.goods.received", data, iso(modified(shipment)), plant)


def receipt_of(text: str | None) -> str | None:
    """The Tryton shipment number a goods-receipt command names in its text ("GR TRYTON-IS-7 ...")."""
    found = re.search(re.escape(RECEIPT_PREFIX) + r"(\S+)", text or "")
    return found.group(1) if found else None


def document(model: str, record_id: int, number: Any = None) -> str:
    """The document string the sink answers: "stock.shipment.in/12" (or with the Tryton number)."""
    return f"{model}/{record_id}" + (f"/{number}" if number else "")


def parse_document(doc: str) -> tuple[str, int]:
    """(model, id) of a document string."""
    model, record_id = doc.split("/")[:2]
    return model, int(record_id)


def ledger_add(ledger: str | None, key: str) -> str:
    """A production's posting ledger (kept in its `reference`) with one more key digest."""
    marks = [x for x in (ledger or "").removeprefix(MARK).split(",") if x]
    return MARK + ",".join([*marks, short_key(key)])


def in_ledger(ledger: str | None, key: str) -> bool:
    """Whether a production's ledger holds a key."""
    return short_key(key) in (ledger or "").removeprefix(MARK).split(",")
