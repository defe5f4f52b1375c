"""Which outside systems a hub talks to: a sink and a feed source per role, built from base URLs.

Roles are "erp", "mes", "wms" and "supplier". Today each role is served by the adapter for the
simulated system of that role (adapters/sim_*); a real ERP adapter plugs in here the same way. A
supplier URL written ``x12+http://...`` selects EDI instead of the portal's JSON API: the X12
adapter's mailbox sink (850s out) and source (855s in, 997s both ways); see docs/edi.md.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import orjson

from plantwire.adapters.sim_erp.sink import ErpSink
from plantwire.adapters.sim_erp.source import erp_source
from plantwire.adapters.sim_mes.sink import MesSink
from plantwire.adapters.sim_mes.source import mes_source
from plantwire.adapters.sim_supplier.sink import SupplierSink
from plantwire.adapters.sim_supplier.source import supplier_source
from plantwire.adapters.sim_wms.sink import WmsSink
from plantwire.adapters.sim_wms.source import wms_source
from plantwire.adapters.tryton.client import TrytonClient
from plantwire.adapters.tryton.mapping import TrytonMapping
from plantwire.adapters.tryton.sink import TrytonSink
from plantwire.adapters.tryton.source import tryton_source
from plantwire.adapters.x12.http_client import is_mailbox_url
from plantwire.adapters.x12.sink import x12_http_sink
from plantwire.adapters.x12.source import x12_mailbox_source
from plantwire.clocks import SystemClock
from plantwire.errors import ConfigurationError
from plantwire.mapping.xref import XrefStore
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
        if (role == "supplier" and is_mailbox_url(url)) or (role == "erp" and is_tryton_url(url)):
            continue
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"system {role}: base URL must start with http:// or https://")


def build_sinks(systems: Mapping[str, str], state: StateStore | None = None) -> dict[str, Sink]:
    """One sink per configured role."""
    check_roles(systems)
    out: dict[str, Sink] = {}
    for role, url in systems.items():
        if is_tryton_url(url):
            out[role] = TrytonSink(*_tryton(url, state))
        elif is_mailbox_url(url):
            out[role] = x12_http_sink(url, SystemClock())
        else:
            out[role] = SINKS[role](url)
    return out


def build_sources(systems: Mapping[str, str], intake: Intake, state: StateStore) -> list[FeedSource]:
    """One durable feed poller per configured role."""
    check_roles(systems)
    out: list[FeedSource] = []
    for role, url in systems.items():
        if is_tryton_url(url):
            out.append(tryton_source(*_tryton(url, state), intake, state))
        elif is_mailbox_url(url):
            out.append(x12_mailbox_source(url, intake, state, SystemClock()))
        else:
            out.append(SOURCES[role](url, intake, state))
    return out


def is_tryton_url(url: str) -> bool:
    """``tryton:PATH``: the ERP is a Tryton whose connection `plantwire connect tryton` saved."""
    return url.startswith("tryton:")


def _tryton(url: str, state: StateStore | None) -> tuple[TrytonClient, TrytonMapping]:
    """The client and mapping of a saved Tryton connection; ids map through the xref store."""
    path = Path(url.removeprefix("tryton:"))
    try:
        saved = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigurationError(f"Tryton connection {path}: {exc}; run `plantwire connect tryton`") from exc
    if saved.get("password_file"):
        password = Path(saved["password_file"]).read_text().strip()
    else:
        password = os.environ.get(saved.get("password_env") or "PLANTWIRE_TRYTON_PASSWORD", "")
    if not password:
        raise ConfigurationError("Tryton password missing: set PLANTWIRE_TRYTON_PASSWORD or --password-file")
    if state is None:
        raise ConfigurationError("a Tryton ERP needs the state store for its cross-references")
    client = TrytonClient(saved["url"], saved["database"], saved["user"], password)
    mapping = TrytonMapping.from_xref(XrefStore(state, SystemClock()), saved.get("defaults"),
                                      saved.get("blocked"))
    return client, mapping
