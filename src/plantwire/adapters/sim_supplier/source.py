"""The supplier source: polls the portal's message feed (acknowledgments and delay notices)."""

from __future__ import annotations

from functools import partial

from plantwire.adapters.sim_supplier.mapping import SYSTEM, SupplierMapping
from plantwire.adapters.sim_supplier.translate import translate_event
from plantwire.adapters.simfeed import FeedSource
from plantwire.ports import Intake, StateStore


def supplier_source(base_url: str, intake: Intake, state: StateStore, *, name: str = "sim-supplier",
                    mapping: SupplierMapping | None = None, batch: int = 200,
                    interval: float = 0.5) -> FeedSource:
    """A durable poller over the portal's feed; `name` keys its watermark and quarantine."""
    translate = partial(translate_event, m=mapping or SupplierMapping())
    return FeedSource(name, SYSTEM, base_url, translate, intake, state, batch=batch, interval=interval)
