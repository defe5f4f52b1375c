"""A plant's day as CloudEvents, in the order the ERP, MES, WMS and suppliers would send them.

Per production order: components are bought (PO approved, supplier acknowledgment, goods receipt
into the raw-material store), the order is released, the MES consumes components and reports a
partial and a final completion, and the WMS moves the finished goods to the warehouse. Now and then
a supplier delays a shipment or quality holds a lot. Identities come from the business documents,
so sending the same day twice produces the same events. Pure and deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

EVENTS_PER_ORDER = 11
FINISHED = ["FG-PUMP-100", "FG-PUMP-200", "FG-VALVE-20", "FG-VALVE-40"]
COMPONENTS = ["RM-HOUSING-A", "RM-IMPELLER-7", "RM-SEAL-KIT", "RM-MOTOR-2KW", "RM-BOLT-M8"]
SUPPLIERS = ["SUP-100", "SUP-200", "SUP-300"]


def event(source: str, event_id: str, type_: str, data: dict[str, Any], at: datetime,
          plant: str) -> dict[str, Any]:
    """A structured-mode CloudEvent as a source system would send it."""
    return {"specversion": "1.0", "id": event_id, "source": source, "type": type_,
            "time": at.isoformat(), "datacontenttype": "application/json",
            "contractversion": "1", "plant": plant, "data": data}


def qty(value: Decimal | int | str, uom: str = "EA") -> dict[str, str]:
    """A canonical quantity."""
    return {"value": str(value), "uom": uom}


def plant_day(plant: str = "1000", orders: int = 50, seed: int = 7,
              start: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The events of `orders` production orders at one plant, in sending order."""
    rng = random.Random(seed)
    t = start or datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    for n in range(orders):
        t += timedelta(minutes=rng.randint(2, 9))
        yield from _one_order(rng, plant, n, t)


def _one_order(rng: random.Random, plant: str, n: int, t: datetime) -> Iterator[dict[str, Any]]:
    erp, mes, wms = f"erp/plant-{plant}", f"mes/plant-{plant}", f"wms/plant-{plant}"
    order_id, po, supplier = f"{1_000_000 + n}", f"45000{10_000 + n}", rng.choice(SUPPLIERS)
    lot = f"L{t:%y%m%d}-{n:04d}"
    item = rng.choice(FINISHED)
    size = rng.randint(5, 40)
    comps = rng.sample(COMPONENTS, 2)
    per = {c: rng.randint(1, 4) for c in comps}
    lines = [{"line": 10 * (i + 1), "item_id": c, "quantity": qty(per[c] * size + 10),
              "unit_price": str(Decimal(rng.randint(150, 9000)) / 100),
              "delivery_date": (t + timedelta(days=3)).date().isoformat()} for i, c in enumerate(comps)]
    yield event(erp, f"PO-{po}/rev-0", "procurement.po.approved",
                {"po_number": po, "revision": 0, "plant": plant, "supplier_id": supplier,
                 "currency": "EUR", "lines": lines, "approved_at": t.isoformat()}, t, plant)
    yield event(f"supplier/{supplier}", f"ACK-{po}-1", "procurement.supplier.acknowledged",
                {"po_number": po, "revision": 0, "supplier_id": supplier, "ack_id": f"ACK-{po}-1",
                 "acknowledged_at": (t + timedelta(minutes=20)).isoformat(),
                 "lines": [{"line": ln["line"], "status": "accepted"} for ln in lines]}, t, plant)
    if rng.random() < 0.15:
        yield event(f"supplier/{supplier}", f"DLY-{po}-1", "procurement.shipment.delayed",
                    {"po_number": po, "supplier_id": supplier,
                     "original_date": (t + timedelta(days=3)).date().isoformat(),
                     "new_date": (t + timedelta(days=5)).date().isoformat(),
                     "reason": "carrier capacity"}, t, plant)
    yield event(wms, f"GR-{5_000_000 + n}", "procurement.goods.received",
                {"receipt_id": f"{5_000_000 + n}", "po_number": po, "plant": plant,
                 "supplier_id": supplier, "received_at": (t + timedelta(hours=1)).isoformat(),
                 "lines": [{"line": i + 1, "po_line": ln["line"], "item_id": ln["item_id"],
                            "quantity": ln["quantity"], "storage_location": "RM01"}
                           for i, ln in enumerate(lines)]}, t, plant)
    yield event(erp, f"ORD-{order_id}/released", "production.order.released",
                {"order_id": order_id, "plant": plant, "item_id": item, "quantity": qty(size),
                 "scheduled_start": (t + timedelta(hours=2)).isoformat(),
                 "scheduled_end": (t + timedelta(hours=6)).isoformat(), "work_center": "WC-ASSY-1",
                 "components": [{"line": 10 * (i + 1), "item_id": c, "quantity": qty(per[c] * size),
                                 "storage_location": "RM01"} for i, c in enumerate(comps)]}, t, plant)
    for i, c in enumerate(comps):
        yield event(mes, f"CONS-{order_id}-{i + 1}", "production.component.consumed",
                    {"order_id": order_id, "plant": plant, "consumption_id": f"{order_id}-{i + 1}",
                     "item_id": c, "quantity": qty(per[c] * size), "storage_location": "RM01",
                     "consumed_at": (t + timedelta(hours=3)).isoformat()}, t, plant)
    first = size // 2
    scrap = rng.choice([0, 0, 0, 1])
    for k, (good, bad, final) in enumerate([(first, 0, False), (size - first - scrap, scrap, True)]):
        yield event(mes, f"COMP-{order_id}-{k + 1}", "production.goods.completed",
                    {"order_id": order_id, "plant": plant, "completion_id": f"{order_id}-{k + 1}",
                     "item_id": item, "yield_quantity": qty(good), "scrap_quantity": qty(bad),
                     "lot": lot, "storage_location": "FG01", "final": final,
                     "completed_at": (t + timedelta(hours=4 + k)).isoformat()}, t, plant)
    if rng.random() < 0.1:
        yield event(f"qms/plant-{plant}", f"QH-{order_id}", "quality.hold.placed",
                    {"hold_id": f"QH-{order_id}", "plant": plant, "item_id": item, "lot": lot,
                     "reason_code": "VISUAL", "reason": "scratches on housing",
                     "placed_at": (t + timedelta(hours=5)).isoformat()}, t, plant)
        yield event(f"qms/plant-{plant}", f"QR-{order_id}", "quality.hold.released",
                    {"hold_id": f"QH-{order_id}", "plant": plant, "disposition": "release",
                     "released_at": (t + timedelta(hours=6)).isoformat()}, t, plant)
    yield event(wms, f"TR-{order_id}", "inventory.transferred",
                {"transfer_id": f"TR-{order_id}", "plant": plant, "item_id": item, "lot": lot,
                 "quantity": qty(size - scrap), "from_location": "FG01", "to_location": "WH01",
                 "transferred_at": (t + timedelta(hours=7)).isoformat()}, t, plant)
