"""Available to promise: on hand, reserved, blocked and in transit by plant|item|location|lot.

Built only from journal events, in the item's unit (its declared base unit, else the first unit seen):
- on_hand: receipts and completions add, consumptions take away, transfers move (the same deltas as
  the stock projection, which stays the one that refuses negative stock);
- reserved: what released orders still need of each component (requirement less consumption) until
  the order's final completion; kept per order, booked in the lot-less bucket it stages from;
- blocked: stock under an active quality hold; a hold without a quantity blocks the whole lot;
- in_transit: approved PO lines not yet received (nor rejected or cancelled), with delivery dates;
- atp = on_hand - reserved - blocked.

Every numeric change an event makes and every document it replaces are recorded under its seq, so
`forget` undoes exactly that event; `reset` and a replay in journal order rebuild identical state.
The maths are pure functions below the subscriber; `availability`, `earliest_cover` and `atp_view`
read the state for flows and the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from plantwire.domain.quantities import Quantity, UnknownConversion, UomConversion, convert
from plantwire.envelope import JournalEntry
from plantwire.errors import BusinessRuleViolation
from plantwire.ports import StateTx
from plantwire.projections.inventory import deltas as stock_deltas

UNITS, QTY, ORDERS, HOLDS, BLOCKS = "atp.unit", "atp.qty", "atp.orders", "atp.holds", "atp.blocks"
POS, OPEN, MOVES, RESERVATIONS = "atp.pos", "atp.open", "atp.moves", "atp.reservations"
NAMESPACES = (UNITS, QTY, ORDERS, HOLDS, BLOCKS, POS, OPEN, MOVES, RESERVATIONS)
SEP = "|"
ZERO = Decimal(0)
CLOSED_LINE = frozenset({"rejected", "cancelled"})

Get = Callable[[str, str], Any]
Scan = Callable[[str, str], list[tuple[str, Any]]]
Place = tuple[str, str]  # (storage location, lot); "" when none


def qty_key(plant: str, item: str, location: str, lot: str, measure: str) -> str:
    """The key of one measure (on_hand, reserved, in_transit) of one bucket."""
    return SEP.join((plant, item, location, lot, measure))


def seq_key(seq: int) -> str:
    """The key under which an event's changes are recorded."""
    return f"{seq:015d}"


def dec(value: Any) -> Decimal:
    """A stored amount as a Decimal (missing counts as zero)."""
    return ZERO if value is None else Decimal(str(value))


# ---- pure maths ---------------------------------------------------------------------------------

def remaining_reservation(required: Mapping[str, Decimal],
                          consumed: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """What is still reserved per location: consumption takes from its own location first, and what
    it took beyond that (or from a location not required) from the other locations in key order."""
    left = dict(required)
    spill = ZERO
    for loc, used in sorted(consumed.items()):
        take = min(left.get(loc, ZERO), used)
        if loc in left:
            left[loc] -= take
        spill += used - take
    for loc in sorted(left):
        take = min(left[loc], spill)
        left[loc] -= take
        spill -= take
    return {loc: q for loc, q in left.items() if q > 0}


def reservations(order: Mapping[str, Any] | None) -> dict[tuple[str, str], Decimal]:
    """An order's open reservations by (item, location); none before release or after its end."""
    if not order or not order.get("released") or order.get("closed"):
        return {}
    out: dict[tuple[str, str], Decimal] = {}
    for item, by_loc in order["required"].items():
        used = {loc: dec(v) for loc, v in order["consumed"].get(item, {}).items()}
        for loc, q in remaining_reservation({k: dec(v) for k, v in by_loc.items()}, used).items():
            out[(item, loc)] = q
    return out


def open_quantity(line: Mapping[str, Any]) -> Decimal:
    """What of a PO line is still to come."""
    if line.get("status") in CLOSED_LINE:
        return ZERO
    return max(ZERO, dec(line.get("ordered")) - dec(line.get("received")))


def blocked(on_hand: Mapping[Place, Decimal], holds: Iterable[Mapping[str, Any]]) -> dict[Place, Decimal]:
    """Blocked stock per place of one item: a hold blocks the matching stock (its lot, its location
    when it names one), all of it or up to its quantity, never more than is on hand."""
    out: dict[Place, Decimal] = {}
    for hold in holds:
        places = [p for p in sorted(on_hand) if (hold.get("lot") in (None, p[1]))
                  and (hold.get("location") in (None, p[0]))]
        left = None if hold.get("quantity") is None else dec(hold["quantity"])
        for place in places:
            room = max(ZERO, on_hand[place]) - out.get(place, ZERO)
            take = room if left is None else min(room, left)
            if take > 0:
                out[place] = out.get(place, ZERO) + take
                left = None if left is None else left - take
    return out


@dataclass(frozen=True)
class Bucket:
    """The figures of one plant|item|location|lot."""

    plant: str
    item: str
    location: str
    lot: str
    uom: str
    on_hand: Decimal = ZERO
    reserved: Decimal = ZERO
    blocked: Decimal = ZERO
    in_transit: Decimal = ZERO

    @property
    def atp(self) -> Decimal:
        """Available to promise."""
        return self.on_hand - self.reserved - self.blocked

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (amounts as exact strings)."""
        return {"plant": self.plant, "item": self.item, "location": self.location, "lot": self.lot or None,
                "uom": self.uom, "on_hand": str(self.on_hand), "reserved": str(self.reserved),
                "blocked": str(self.blocked), "in_transit": str(self.in_transit), "atp": str(self.atp)}


# ---- the subscriber -----------------------------------------------------------------------------

class _Writer:
    """Writes through a transaction, remembering what to undo: numeric deltas and replaced values."""

    def __init__(self, tx: StateTx, seq: int) -> None:
        self.tx, self.seq = tx, seq
        self.adds: dict[tuple[str, str], Decimal] = {}
        self.images: dict[tuple[str, str], Any] = {}

    def get(self, ns: str, key: str) -> Any | None:
        return self.tx.get(ns, key)

    def put(self, ns: str, key: str, value: Any | None) -> None:
        old = self.tx.get(ns, key)
        if old == value:
            return
        self.images.setdefault((ns, key), old)
        if value is None:
            self.tx.delete(ns, key)
        else:
            self.tx.put(ns, key, value)

    def add(self, ns: str, key: str, delta: Decimal) -> None:
        if delta:
            self.tx.add(ns, key, delta)
            self.adds[(ns, key)] = self.adds.get((ns, key), ZERO) + delta

    def record(self) -> dict[str, Any]:
        return {"add": [[ns, k, str(d)] for (ns, k), d in self.adds.items() if d],
                "img": [[ns, k, v] for (ns, k), v in self.images.items()]}


class Atp:
    """The ATP projection (subscriber "atp")."""

    name = "atp"
    types = frozenset({
        "production.order.released", "production.component.consumed", "production.goods.completed",
        "inventory.transferred", "procurement.goods.received", "procurement.po.approved",
        "procurement.supplier.acknowledged", "procurement.shipment.delayed",
        "quality.hold.placed", "quality.hold.released"})

    def __init__(self, base_units: Mapping[str, str] | None = None,
                 conversions: Sequence[UomConversion] = ()) -> None:
        self.base_units = dict(base_units or {})
        self.conversions = tuple(conversions)

    def handle(self, entry: JournalEntry, tx: StateTx) -> None:
        """Apply one event and record what it changed."""
        w = _Writer(tx, entry.seq)
        data = entry.envelope.data
        self._stock(w, entry.type, data)
        handler = _HANDLERS.get(entry.type)
        if handler is not None:
            handler(self, w, data)
        tx.put(MOVES, seq_key(entry.seq), w.record())

    def forget(self, entry: JournalEntry, tx: StateTx) -> None:
        """Undo exactly what this event changed."""
        record = tx.get(MOVES, seq_key(entry.seq))
        if record is None:
            return
        for ns, key, old in reversed(record["img"]):
            if old is None:
                tx.delete(ns, key)
            else:
                tx.put(ns, key, old)
        for ns, key, delta in record["add"]:
            tx.add(ns, key, -Decimal(delta))
        tx.delete(MOVES, seq_key(entry.seq))

    def reset(self, tx: StateTx) -> None:
        """Empty the projection, for a rebuild from the whole journal."""
        for ns in NAMESPACES:
            tx.clear(ns)

    def value(self, w: _Writer, item: str, q: Mapping[str, Any]) -> Decimal:
        """A quantity in the item's unit (fixed the first time the item is seen)."""
        amount, uom = dec(q["value"]), str(q["uom"])
        unit = w.get(UNITS, item)
        if unit is None:
            unit = self.base_units.get(item, uom)
            w.put(UNITS, item, unit)
        if unit == uom:
            return amount
        try:
            return convert(Quantity(value=amount, uom=uom), unit, self.conversions, item).value
        except UnknownConversion as error:
            raise BusinessRuleViolation(
                f"ATP keeps {item} in {unit}: {error}; declare the conversion") from error

    def _stock(self, w: _Writer, type_: str, data: Mapping[str, Any]) -> None:
        for key, delta in stock_deltas(type_, dict(data)):
            plant, item, location, lot, uom = key.split(SEP)
            amount = self.value(w, item, {"value": abs(delta), "uom": uom})
            w.add(QTY, qty_key(plant, item, location, lot, "on_hand"), amount if delta > 0 else -amount)

    # -- orders: reservations
    def _order(self, w: _Writer, data: Mapping[str, Any]) -> dict[str, Any]:
        found = w.get(ORDERS, data["order_id"])
        return found or {"plant": data["plant"], "released": False, "closed": False,
                         "required": {}, "consumed": {}}

    def _save_order(self, w: _Writer, order_id: str, order: dict[str, Any]) -> None:
        before = reservations(w.get(ORDERS, order_id))
        after = reservations(order)
        w.put(ORDERS, order_id, order)
        for item, loc in sorted(set(before) | set(after)):
            delta = after.get((item, loc), ZERO) - before.get((item, loc), ZERO)
            w.add(QTY, qty_key(order["plant"], item, loc, "", "reserved"), delta)
            if delta:  # by release order too, so an order competes only with those released before it
                left = after.get((item, loc))
                w.put(RESERVATIONS, SEP.join((order["plant"], item, loc, seq_key(order["seq"]), order_id)),
                      None if left is None else str(left))

    def released(self, w: _Writer, data: Mapping[str, Any]) -> None:
        order = self._order(w, data)
        required: dict[str, dict[str, str]] = {}
        for comp in data.get("components", []):
            item, loc = comp["item_id"], comp.get("storage_location") or ""
            by_loc = required.setdefault(item, {})
            by_loc[loc] = str(dec(by_loc.get(loc)) + self.value(w, item, comp["quantity"]))
        self._save_order(w, data["order_id"], {**order, "plant": data["plant"], "released": True,
                                               "required": required, "seq": order.get("seq") or w.seq})

    def consumed(self, w: _Writer, data: Mapping[str, Any]) -> None:
        order = self._order(w, data)
        item, loc = data["item_id"], data["storage_location"]
        used = {k: dict(v) for k, v in order["consumed"].items()}
        by_loc = used.setdefault(item, {})
        by_loc[loc] = str(dec(by_loc.get(loc)) + self.value(w, item, data["quantity"]))
        self._save_order(w, data["order_id"], {**order, "consumed": used})

    def completed(self, w: _Writer, data: Mapping[str, Any]) -> None:
        if data.get("final"):
            self._save_order(w, data["order_id"], {**self._order(w, data), "closed": True})

    # -- quality holds: blocked
    def hold_placed(self, w: _Writer, data: Mapping[str, Any]) -> None:
        hold = w.get(HOLDS, data["hold_id"]) or {}
        quantity = data.get("quantity")
        hold = {**hold, "plant": data["plant"], "item": data["item_id"], "lot": data.get("lot"),
                "location": data.get("storage_location"),
                "quantity": None if quantity is None else str(self.value(w, data["item_id"], quantity)),
                "active": not hold.get("released", False)}
        self._save_hold(w, data["hold_id"], hold)

    def hold_released(self, w: _Writer, data: Mapping[str, Any]) -> None:
        hold = w.get(HOLDS, data["hold_id"]) or {"plant": data["plant"]}
        self._save_hold(w, data["hold_id"], {**hold, "active": False, "released": True})

    @staticmethod
    def _save_hold(w: _Writer, hold_id: str, hold: dict[str, Any]) -> None:
        w.put(HOLDS, hold_id, hold)
        if "item" in hold:
            index = SEP.join((hold["plant"], hold["item"], hold_id))
            w.put(BLOCKS, index, hold if hold["active"] else None)

    # -- purchase orders: in transit
    def po_approved(self, w: _Writer, data: Mapping[str, Any]) -> None:
        po = w.get(POS, data["po_number"])
        if po is not None and po["revision"] > data["revision"]:
            return  # an older revision arriving late changes nothing
        # lines the new revision leaves out are cancelled
        old_lines = (po or {}).get("lines", {})
        lines = {k: {**v, "ordered": "0", "status": "cancelled"} for k, v in old_lines.items()}
        for line in data["lines"]:
            old = lines.get(str(line["line"]), {})
            lines[str(line["line"])] = {
                "item": line["item_id"], "ordered": str(self.value(w, line["item_id"], line["quantity"])),
                "received": old.get("received", "0"), "date": line["delivery_date"],
                "location": line.get("storage_location") or "", "status": "open"}
        self._save_po(w, data["po_number"], {"plant": data["plant"], "supplier": data["supplier_id"],
                                             "revision": data["revision"], "lines": lines})

    def acknowledged(self, w: _Writer, data: Mapping[str, Any]) -> None:
        po = w.get(POS, data["po_number"])
        if po is None or po["revision"] > data["revision"]:
            return
        lines = dict(po["lines"])
        for ack in data["lines"]:
            line = lines.get(str(ack["line"]))
            if line is None:
                continue
            line = {**line, "status": "rejected" if ack["status"] == "rejected" else "confirmed"}
            if ack.get("quantity") is not None:
                line["ordered"] = str(self.value(w, line["item"], ack["quantity"]))
            if ack.get("delivery_date"):
                line["date"] = ack["delivery_date"]
            lines[str(ack["line"])] = line
        self._save_po(w, data["po_number"], {**po, "lines": lines})

    def delayed(self, w: _Writer, data: Mapping[str, Any]) -> None:
        po = w.get(POS, data["po_number"])
        if po is None:
            return
        wanted = {str(n) for n in data.get("lines") or po["lines"]}
        lines = {k: ({**v, "date": data["new_date"]} if k in wanted else v) for k, v in po["lines"].items()}
        self._save_po(w, data["po_number"], {**po, "lines": lines})

    def received(self, w: _Writer, data: Mapping[str, Any]) -> None:
        po = w.get(POS, data["po_number"]) or {"plant": data["plant"], "supplier": data.get("supplier_id"),
                                                 "revision": -1, "lines": {}}
        lines = dict(po["lines"])
        for rl in data["lines"]:
            k = str(rl["po_line"])
            line = lines.get(k) or {"item": rl["item_id"], "ordered": "0", "received": "0", "date": None,
                                    "location": rl["storage_location"], "status": "open"}
            got = dec(line["received"]) + self.value(w, line["item"], rl["quantity"])
            lines[k] = {**line, "received": str(got)}
        self._save_po(w, data["po_number"], {**po, "lines": lines})

    @staticmethod
    def _save_po(w: _Writer, po_number: str, po: dict[str, Any]) -> None:
        before = w.get(POS, po_number) or {"lines": {}}
        w.put(POS, po_number, po)
        for k in sorted(set(before["lines"]) | set(po["lines"]), key=int):
            old, new = before["lines"].get(k), po["lines"].get(k)
            for line, sign in ((old, -1), (new, 1)):
                if line is not None:
                    key = qty_key(po["plant"], line["item"], line["location"], "", "in_transit")
                    w.add(QTY, key, sign * open_quantity(line))
            if old is not None and (new is None or old["item"] != new["item"]):
                w.put(OPEN, SEP.join((po["plant"], old["item"], po_number, f"{int(k):06d}")), None)
            if new is not None:
                open_ = open_quantity(new)
                w.put(OPEN, SEP.join((po["plant"], new["item"], po_number, f"{int(k):06d}")),
                      {"po": po_number, "line": int(k), "supplier": po.get("supplier"), "date": new["date"],
                       "open": str(open_), "location": new["location"]} if open_ > 0 else None)


_HANDLERS: dict[str, Callable[[Atp, _Writer, Mapping[str, Any]], None]] = {
    "production.order.released": Atp.released,
    "production.component.consumed": Atp.consumed,
    "production.goods.completed": Atp.completed,
    "quality.hold.placed": Atp.hold_placed,
    "quality.hold.released": Atp.hold_released,
    "procurement.po.approved": Atp.po_approved,
    "procurement.supplier.acknowledged": Atp.acknowledged,
    "procurement.shipment.delayed": Atp.delayed,
    "procurement.goods.received": Atp.received,
}


# ---- reading ------------------------------------------------------------------------------------

def buckets(get: Get, scan: Scan, prefix: str = "") -> list[Bucket]:
    """Every bucket whose key starts with prefix ("plant|item|" for one item), holds applied."""
    figures: dict[tuple[str, str, str, str], dict[str, Decimal]] = {}
    for key, value in scan(QTY, prefix):
        plant, item, location, lot, measure = key.split(SEP)
        figures.setdefault((plant, item, location, lot), {})[measure] = dec(value)
    by_item: dict[tuple[str, str], dict[Place, Decimal]] = {}
    for (plant, item, location, lot), f in figures.items():
        by_item.setdefault((plant, item), {})[(location, lot)] = f.get("on_hand", ZERO)
    out = []
    for (plant, item), stock in sorted(by_item.items()):
        holds = [v for _, v in scan(BLOCKS, SEP.join((plant, item, "")))]
        held = blocked(stock, holds)
        unit = get(UNITS, item) or ""
        for (location, lot) in sorted(stock):
            f = figures[(plant, item, location, lot)]
            out.append(Bucket(plant, item, location, lot, unit, f.get("on_hand", ZERO),
                              f.get("reserved", ZERO), held.get((location, lot), ZERO),
                              f.get("in_transit", ZERO)))
    return out


@dataclass(frozen=True)
class Availability:
    """What one order can count on of one component at a plant (and location, when it names one)."""

    uom: str | None
    unrestricted: Decimal
    reserved_by_others: Decimal
    own_reservation: Decimal | None

    @property
    def free(self) -> Decimal:
        """Stock this order may take: unrestricted stock not reserved by other orders."""
        return self.unrestricted - self.reserved_by_others


def availability(get: Get, scan: Scan, plant: str, item: str, location: str | None,
                 order_id: str) -> Availability:
    """The availability of a component for an order: unrestricted stock less what orders released
    before it still reserve (first released, first served; all open orders when the projection has
    not seen this order's release)."""
    rows = [b for b in buckets(get, scan, SEP.join((plant, item, ""))) if location in (None, b.location)]
    order = get(ORDERS, order_id)
    known = bool(order and order.get("released"))
    own_all = reservations(order)
    own = sum((q for (i, loc), q in own_all.items() if i == item and location in (None, loc)), ZERO)
    others = ZERO
    for key, left in scan(RESERVATIONS, SEP.join((plant, item, ""))):
        _, _, loc, seq, other = key.split(SEP)
        if other != order_id and location in (None, loc) and (not known or seq < seq_key(order["seq"])):
            others += dec(left)
    return Availability(get(UNITS, item), sum((b.on_hand - b.blocked for b in rows), ZERO), others,
                        own if known else None)


def bucket_at(get: Get, scan: Scan, plant: str, item: str, location: str, lot: str | None) -> Bucket | None:
    """One bucket, if the projection has it."""
    for b in buckets(get, scan, SEP.join((plant, item, ""))):
        if b.location == location and b.lot == (lot or ""):
            return b
    return None


def applied(get: Get, seq: int) -> bool:
    """Whether the projection has taken the event with this seq."""
    return get(MOVES, seq_key(seq)) is not None


def earliest_cover(scan: Scan, plant: str, item: str, missing: Decimal) -> dict[str, Any] | None:
    """The open PO line by whose delivery date the open supply of an item first covers `missing`."""
    lines = sorted((v for _, v in scan(OPEN, SEP.join((plant, item, "")))),
                   key=lambda v: (v["date"] or "9999-12-31", v["po"], v["line"]))
    total = ZERO
    for line in lines:
        total += dec(line["open"])
        if total >= missing:
            return dict(line)
    return None


def atp_view(tx: StateTx, item: str | None = None, location: str | None = None) -> list[dict[str, Any]]:
    """The API's inventory rows: each bucket with a non-zero figure, optionally for one item/location."""
    rows = []
    for b in buckets(tx.get, tx.scan):
        if (item is not None and b.item != item) or (location is not None and b.location != location):
            continue
        if any((b.on_hand, b.reserved, b.blocked, b.in_transit)):
            row = b.as_dict()
            if b.in_transit:
                row["in_transit_lines"] = [v for _, v in tx.scan(OPEN, SEP.join((b.plant, b.item, "")))
                                           if v["location"] == b.location]
            rows.append(row)
    return rows
