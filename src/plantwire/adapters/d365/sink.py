"""The D365 sink: erp.post_goods_movement -> an inventory journal (header, then its line).

The idempotency reference leads the header's Description ("PW:<ref> ..."); the sink looks it up
before writing. Posting the journal is left to D365 (a batch job or workflow on the journal name).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from plantwire.adapters.d365 import translate as t
from plantwire.adapters.d365.client import D365Client
from plantwire.adapters.d365.mapping import JOURNAL, D365Mapping
from plantwire.domain.commands import PostGoodsMovement
from plantwire.errors import PermanentError
from plantwire.ports import Command


def reference(key: str) -> str:
    """A 16-character reference of the key (Description is only 60 characters)."""
    return key if len(key) <= 16 else hashlib.sha256(key.encode()).hexdigest()[:16].upper()


class D365Sink:
    """Carries out ("erp", "post_goods_movement") as D365 inventory journals."""

    def __init__(
        self,
        client: D365Client,
        mapping: D365Mapping | None = None,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.client, self.mapping, self.today = client, mapping or D365Mapping(), today

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        if (command.target, command.name) != ("erp", "post_goods_movement"):
            raise PermanentError(f"the D365 sink cannot execute {command.target}.{command.name}")
        cmd = PostGoodsMovement.model_validate(command.payload)
        ref = reference(idempotency_key)
        header_set, line_set = t.journal_sets(cmd.movement.value)
        found = self.client.query(
            header_set, f"startswith({JOURNAL['description']}, 'PW:{ref}')", self.mapping.company
        )
        if found:
            return {"journal": found[0].get(JOURNAL["number"]), "existing": True}
        doc = t.emit_journal(cmd, ref, self.mapping, self.today())
        header = self.client.create(header_set, doc[header_set])
        number = header.get(JOURNAL["number"])
        for line in doc[line_set]["value"]:
            self.client.create(line_set, {**line, JOURNAL["number"]: number})
        return {"journal": number, "existing": False}
