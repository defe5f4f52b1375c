"""The MES source: polls the MES simulator's event feed (consumptions and production reports)."""

from __future__ import annotations

from functools import partial

from plantwire.adapters.sim_mes.mapping import SYSTEM, MesMapping
from plantwire.adapters.sim_mes.translate import translate_event
from plantwire.adapters.simfeed import FeedSource
from plantwire.ports import Intake, StateStore


def mes_source(base_url: str, intake: Intake, state: StateStore, *, name: str = "sim-mes",
               mapping: MesMapping | None = None, batch: int = 200, interval: float = 0.5) -> FeedSource:
    """A durable poller over the MES's feed; `name` keys its watermark and quarantine."""
    translate = partial(translate_event, m=mapping or MesMapping())
    return FeedSource(name, SYSTEM, base_url, translate, intake, state, batch=batch, interval=interval)
