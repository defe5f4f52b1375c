"""Which outside systems a hub talks to: a sink and a feed source per role, built from base URLs.

Roles are "erp", "mes", "wms" and "supplier". Today each role is served by the adapter for the
simulated system of that role (adapters/sim_*); a real ERP adapter plugs in here the same way. A
supplier URL written ``x12+http://...`` selects EDI instead of the portal's JSON API: the X12
adapter's mailbox sink (850s out) and source (855s in, 997s both ways); see docs/edi.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from plantwire.adapters.sim_erp.sink import ErpSink
from plantwire.adapters.sim_erp.source import erp_source
from plantwire.adapters.sim_mes.sink import MesSink
from plantwire.adapters.sim_mes.source import mes_source
from plantwire.adapters.sim_supplier.sink import SupplierSink
from plantwire.adapters.sim_supplier.source import supplier_source
from plantwire.adapters.sim_wms.sink import WmsSink
from plantwire.adapters.sim_wms.source import wms_source
from plantwire.adapters.x12.http_client import is_mailbox_url
from plantwire.adapters.x12.sink import x12_http_sink
from plantwire.adapters.x12.source import x12_mailbox_source
from plantwire.clocks import SystemClock
from plantwire.errors import ConfigurationError
from plantwire.ports import Intake, Sink, StateStore

ROLES = ("erp", "mes", "wms", "supplier")


class FeedSource(Protocol):
    """A source that runs until told to stop."""

    name: str
    system: str
    base_url: str

    async def run(self, stop: asyncio.Event) -> None: ...

    def watermark(self) -> int:
        """The last position of the system's feed that is durably kept."""
        ...

    def quarantined(self) -> list[dict[str, Any]]:
        """What the source could not translate or the hub refused, with the issues."""
        ...


SinkFactory = Callable[[str], Sink]
SourceFactory = Callable[[str, Intake, StateStore], FeedSource]

SINKS: dict[str, SinkFactory] = {"erp": ErpSink, "mes": MesSink, "wms": WmsSink, "supplier": SupplierSink}
SOURCES: dict[str, SourceFactory] = {"erp": erp_source, "mes": mes_source, "wms": wms_source,
                                     "supplier": supplier_source}


def check_roles(systems: Mapping[str, str]) -> None:
    """Refuse an unknown role or an empty URL with a message saying which."""
    for role, url in systems.items():
        if role not in ROLES:
            raise ConfigurationError(f"unknown system role {role!r}; known: {', '.join(ROLES)}")
        if role == "supplier" and is_mailbox_url(url):
            continue
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"system {role}: base URL must start with http:// or https://")


def build_sinks(systems: Mapping[str, str]) -> dict[str, Sink]:
    """One sink per configured role."""
    check_roles(systems)
    return {role: x12_http_sink(url, SystemClock()) if is_mailbox_url(url) else SINKS[role](url)
            for role, url in systems.items()}


def build_sources(systems: Mapping[str, str], intake: Intake, state: StateStore) -> list[FeedSource]:
    """One durable feed poller per configured role."""
    check_roles(systems)
    return [x12_mailbox_source(url, intake, state, SystemClock()) if is_mailbox_url(url)
            else SOURCES[role](url, intake, state) for role, url in systems.items()]
