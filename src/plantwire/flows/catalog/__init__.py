"""The business flows, one module each, and factories that build them from FlowSettings.

Production (value streams 1-3): `release` (release -> material availability), `consumption`
(consumption -> inventory decrement, backflush), `completion` (completion -> warehouse
availability). Procurement, quality and transfer flows (4-7) live beside them.
"""

from __future__ import annotations

from plantwire.flows.api import Flow
from plantwire.flows.catalog.completion import CompletionFlow
from plantwire.flows.catalog.consumption import ConsumptionFlow
from plantwire.flows.catalog.release import ReleaseFlow
from plantwire.flows.catalog.settings import FlowSettings

__all__ = ["FlowSettings", "production_flows"]


def production_flows(settings: FlowSettings) -> list[Flow]:
    """Value streams 1-3: release, consumption and completion."""
    return [ReleaseFlow(settings), ConsumptionFlow(settings), CompletionFlow(settings)]
