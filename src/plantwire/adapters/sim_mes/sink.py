"""The MES sink: ``mes.download_order`` -> work-order download.

The MES dedupes on ERP order number + revision, which is the idempotency reference here: the
canonical command has no revision yet, so every download is revision 0 and a retry (whatever its
key) answers the existing work order instead of creating a second one.
"""

from __future__ import annotations

from typing import Any, cast

from plantwire.adapters.sim_mes import translate as t
from plantwire.adapters.sim_mes.client import MesClient
from plantwire.adapters.sim_mes.mapping import SYSTEM, MesMapping
from plantwire.adapters.simfeed import parse_command
from plantwire.domain.commands import DownloadProductionOrder
from plantwire.ports import Command

Json = dict[str, Any]


class MesSink:
    """Carries out ("mes", name) commands in the MES simulator."""

    def __init__(self, base_url: str, mapping: MesMapping | None = None, timeout: float = 10.0) -> None:
        self.client = MesClient(base_url, timeout)
        self.mapping = mapping or MesMapping()

    def execute(self, idempotency_key: str, command: Command) -> Json:
        """Run one command; the same order and revision never creates a second work order."""
        cmd = cast(DownloadProductionOrder, parse_command(SYSTEM, command))
        return t.downloaded(self.client.download(t.work_order(cmd, self.mapping)))

    def close(self) -> None:
        """Release connections."""
        self.client.close()
