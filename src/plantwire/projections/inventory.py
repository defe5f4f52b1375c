"""Stock on hand by plant, item, storage location, lot and unit, from movement events.

Receipts and completions add, consumptions take away, transfers move. Consuming more than is on
hand is refused (a business rule violation that is dead-lettered for a person to look at), never
silently turned into negative stock. Each event's applied deltas are recorded so replay can undo
them exactly, whatever the code that applied them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plantwire.envelope import JournalEntry
from plantwire.errors import BusinessRuleViolation
from plantwire.ports import StateTx

BALANCES = "inventory.balance"
MOVES = "inventory.moves"
SEP = "|"

Delta = tuple[str, Decimal]


def balance_key(plant: str, item: str, location: str, lot: str | None, uom: str) -> str:
    """The key of one stock bucket."""
    return SEP.join((plant, item, location, lot or "", uom))


def _qty(q: dict[str, Any]) -> tuple[Decimal, str]:
    return Decimal(str(q["value"])), str(q["uom"])


def deltas(type_: str, data: dict[str, Any]) -> list[Delta]:
    """The stock changes an event stands for (pure)."""
    plant = str(data.get("plant", ""))
    if type_ == "production.goods.completed":
        value, uom = _qty(data["yield_quantity"])
        return [(balance_key(plant, data["item_id"], data["storage_location"], data.get("lot"), uom), value)]
    if type_ == "production.component.consumed":
        value, uom = _qty(data["quantity"])
        return [(balance_key(plant, data["item_id"], data["storage_location"], data.get("lot"), uom), -value)]
    if type_ == "inventory.transferred":
        value, uom = _qty(data["quantity"])
        lot = data.get("lot")
        return [(balance_key(plant, data["item_id"], data["from_location"], lot, uom), -value),
                (balance_key(plant, data["item_id"], data["to_location"], lot, uom), value)]
    if type_ == "procurement.goods.received":
        out = []
        for line in data["lines"]:
            value, uom = _qty(line["quantity"])
            key = balance_key(plant, line["item_id"], line["storage_location"], line.get("lot"), uom)
            out.append((key, value))
        return out
    return []


class Inventory:
    """The stock projection."""

    name = "inventory"
    types = frozenset({"production.goods.completed", "production.component.consumed",
                       "inventory.transferred", "procurement.goods.received"})

    def handle(self, entry: JournalEntry, tx: StateTx) -> None:
        """Apply the event's stock changes, refusing any that would go below zero."""
        changes = deltas(entry.type, entry.envelope.data)
        for key, delta in changes:
            on_hand = Decimal(str(tx.get(BALANCES, key) or 0))
            if delta < 0 and on_hand + delta < 0:
                plant, item, location, lot, uom = key.split(SEP)
                raise BusinessRuleViolation(
                    f"insufficient stock of {item} at {plant}/{location}"
                    f"{' lot ' + lot if lot else ''}: on hand {on_hand} {uom}, "
                    f"needs {-delta} {uom} (short {-(on_hand + delta)} {uom})"
                )
            tx.add(BALANCES, key, delta)
        tx.put(MOVES, f"{entry.seq:015d}", [[k, str(d)] for k, d in changes])

    def reset(self, tx: StateTx) -> None:
        """Empty the projection, for a rebuild from the whole journal."""
        tx.clear(BALANCES)
        tx.clear(MOVES)

    def forget(self, entry: JournalEntry, tx: StateTx) -> None:
        """Undo exactly what was applied for this event."""
        key = f"{entry.seq:015d}"
        for bkey, delta in tx.get(MOVES, key) or []:
            tx.add(BALANCES, bkey, -Decimal(delta))
        tx.delete(MOVES, key)


def on_hand(tx: StateTx, prefix: str = "") -> dict[str, Decimal]:
    """Non-zero balances whose key starts with prefix."""
    return {k: Decimal(str(v)) for k, v in tx.scan(BALANCES, prefix) if Decimal(str(v)) != 0}
