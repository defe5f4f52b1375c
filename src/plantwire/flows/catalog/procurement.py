"""The procurement-side flows (value streams 4-7) and flow "supply-delay".

"supply-delay" answers procurement.shipment.delayed: which released production orders need an
item of the delayed PO lines? It reads open orders' component needs from the ATP projection's
reservations when the hub runs it (``settings.reservations_ns``); otherwise from its own index, an
instance per plant (key ``demand|<plant>``) fed by production.order.released and emptied by the
final production.goods.completed. The PO's plant and items come from procurement.po.approved
(instance ``po|<po>``, which also answers the delays). A delay seen before its PO waits for it.
It changes nothing outside, so it has no compensations; its only output is a "supply-delay"
exception naming the affected orders (none is raised when no open order needs the items).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plantwire.domain.procurement import PurchaseOrderApproved, ShipmentDelayed
from plantwire.domain.production import ProductionOrderReleased
from plantwire.flows.api import Context, EventInput, Flow, FlowInput
from plantwire.flows.catalog.po_ack import PoAck
from plantwire.flows.catalog.procurement_settings import ProcurementSettings
from plantwire.flows.catalog.quality_hold import QualityHold
from plantwire.flows.catalog.receipt import Receipt
from plantwire.flows.catalog.transfer import Transfer

__all__ = ["SupplyDelay", "procurement_flows"]

APPROVED = "procurement.po.approved"
DELAYED = "procurement.shipment.delayed"
RELEASED = "production.order.released"
COMPLETED = "production.goods.completed"


def procurement_flows(settings: ProcurementSettings) -> list[Flow]:
    """Flows 4-7 with their settings, ready for bootstrap."""
    return [PoAck(settings), SupplyDelay(settings), Receipt(settings), QualityHold(settings),
            Transfer(settings)]


class SupplyDelay:
    """Flag the released production orders whose components a delayed PO was to bring."""

    name = "supply-delay"
    version = 1
    types = frozenset({APPROVED, DELAYED, RELEASED, COMPLETED})

    def __init__(self, settings: ProcurementSettings) -> None:
        self.settings = settings

    def key_of(self, event: EventInput) -> str | None:
        if event.type in (RELEASED, COMPLETED):
            return f"demand|{event.data['plant']}"
        return f"po|{event.data['po_number']}"

    def starts(self, event: EventInput) -> bool:
        return event.type != COMPLETED or bool(event.data.get("final"))

    def react(self, ctx: Context, inp: FlowInput) -> None:
        if not isinstance(inp, EventInput):
            return
        if inp.type == RELEASED:
            order = ProductionOrderReleased.model_validate(inp.data)
            orders = ctx.state.setdefault("orders", {})
            if order.order_id not in ctx.state.setdefault("closed", []):
                orders[order.order_id] = {"items": sorted({c.item_id for c in order.components}),
                                          "scheduled_start": order.scheduled_start.isoformat()}
        elif inp.type == COMPLETED:
            order_id = str(inp.data["order_id"])
            if inp.data.get("final") and ctx.state.setdefault("orders", {}).pop(order_id, None) is None:
                ctx.state.setdefault("closed", []).append(order_id)  # completed before released
        elif inp.type == APPROVED:
            po = PurchaseOrderApproved.model_validate(inp.data)
            if po.revision >= ctx.state.get("revision", -1):
                ctx.state.update(revision=po.revision, plant=po.plant, supplier=po.supplier_id,
                                 lines={str(ln.line): ln.item_id for ln in po.lines})
            for delay in ctx.state.pop("waiting", []):
                self._delayed(ctx, delay)
        else:
            self._delayed(ctx, inp.data)

    def _delayed(self, ctx: Context, data: dict[str, Any]) -> None:
        st = ctx.state
        delay = ShipmentDelayed.model_validate(data)
        if "lines" not in st:
            st.setdefault("waiting", []).append(delay.model_dump(mode="json"))
            return
        mark = f"{delay.asn_id}|{delay.lines}|{delay.new_date}"
        if mark in st.setdefault("delays", []):
            return
        st["delays"].append(mark)
        lines = [str(n) for n in delay.lines] if delay.lines else list(st["lines"])
        items = sorted({st["lines"][n] for n in lines if n in st["lines"]})
        affected = self._orders_needing(ctx, st["plant"], set(items))
        if not affected:
            st.setdefault("notes", []).append(f"delay to {delay.new_date}: no open order needs {items}")
            return
        names = ", ".join(f"{o['order_id']} ({'/'.join(o['items'])}, starts {o['scheduled_start']})"
                          for o in affected)
        ctx.raise_exception(
            "supply-delay", f"PO {delay.po_number} from supplier {delay.supplier_id} moves from "
            f"{delay.original_date} to {delay.new_date} ({delay.reason}); "
            f"production orders affected: {names}",
            f"reschedule the affected orders or expedite with supplier {delay.supplier_id}",
            supplier=delay.supplier_id, plant=st["plant"], po_number=delay.po_number,
            new_date=delay.new_date.isoformat(), items=items, orders=[o["order_id"] for o in affected])

    def _orders_needing(self, ctx: Context, plant: str, items: set[str]) -> list[dict[str, Any]]:
        """Open orders of the plant that still need any of the items, by scheduled start."""
        index = ctx.lookup(f"flow:{self.name}", f"demand|{plant}") or {}  # this flow's own index
        own: dict[str, Any] = index.get("state", {}).get("orders", {})
        found: dict[str, dict[str, Any]] = {}
        ns = self.settings.reservations_ns
        if ns and ctx.scan(ns, f"{plant}|"):
            # the ATP projection runs: plant|item|location|seq|order -> what the order still needs
            # (None once closed), so an order that already consumed the item is not affected
            for item in sorted(items):
                for key, left in ctx.scan(ns, f"{plant}|{item}|"):
                    order_id = key.split("|")[-1]
                    if left is not None and Decimal(str(left)) > 0:
                        start = own.get(order_id, {}).get("scheduled_start", "")
                        entry = found.setdefault(order_id, {"items": set(), "scheduled_start": start})
                        entry["items"].add(item)
        else:
            for order_id, order in own.items():
                needed = items.intersection(order["items"])
                if needed:
                    found[order_id] = {"items": needed, "scheduled_start": order["scheduled_start"]}
        return sorted(({"order_id": k, "items": sorted(v["items"]), "scheduled_start": v["scheduled_start"]}
                       for k, v in found.items()), key=lambda o: (o["scheduled_start"], o["order_id"]))
