"""The WMS source: polls the WMS simulator's event feed (receipts and confirmed stock moves)."""

from __future__ import annotations

from functools import partial

from plantwire.adapters.sim_wms.mapping import SYSTEM, WmsMapping
from plantwire.adapters.sim_wms.translate import translate_event
from plantwire.adapters.simfeed import FeedSource
from plantwire.ports import Intake, StateStore


def wms_source(base_url: str, intake: Intake, state: StateStore, *, name: str = "sim-wms",
               mapping: WmsMapping | None = None, batch: int = 200, interval: float = 0.5) -> FeedSource:
    """A durable poller over the WMS's feed; `name` keys its watermark and quarantine."""
    translate = partial(translate_event, m=mapping or WmsMapping())
    return FeedSource(name, SYSTEM, base_url, translate, intake, state, batch=batch, interval=interval)
