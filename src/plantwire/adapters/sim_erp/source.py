"""The ERP source: polls the ERP simulator's event feed (released orders, approved POs)."""

from __future__ import annotations

from functools import partial

from plantwire.adapters.sim_erp.mapping import SYSTEM, ErpMapping
from plantwire.adapters.sim_erp.translate import translate_event
from plantwire.adapters.simfeed import FeedSource
from plantwire.ports import Intake, StateStore


def erp_source(base_url: str, intake: Intake, state: StateStore, *, name: str = "sim-erp",
               mapping: ErpMapping | None = None, batch: int = 200, interval: float = 0.5) -> FeedSource:
    """A durable poller over the ERP's feed; `name` keys its watermark and quarantine."""
    translate = partial(translate_event, m=mapping or ErpMapping())
    return FeedSource(name, SYSTEM, base_url, translate, intake, state, batch=batch, interval=interval)
