"""The IDoc sink: erp.post_goods_movement -> MBGMCR03, supplier.send_purchase_order -> ORDERS05.

The key becomes the IDoc number (DOCNUM) and, for goods movements, REF_DOC_NO / REF_DOC_NO_LONG.
SAP's IDoc inbound does not deduplicate by itself: pair this sink with the OData sink's
check-before-write (ReferenceDocument) or an inbound user exit that refuses a repeated reference.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from plantwire.adapters.sap.idoc import translate as t
from plantwire.adapters.sap.idoc.client import IdocClient
from plantwire.adapters.sap.mapping import SapMapping
from plantwire.domain.commands import COMMANDS, PostGoodsMovement, SendPurchaseOrder
from plantwire.errors import InvalidEvent, Issue, PermanentError
from plantwire.ports import Command

HANDLED = {("erp", "post_goods_movement"), ("supplier", "send_purchase_order")}


def parse_command(command: Command) -> Any:
    """The command's canonical model; an unknown command or a bad payload is permanent."""
    if (command.target, command.name) not in HANDLED:
        raise PermanentError(f"the SAP IDoc sink cannot execute {command.target}.{command.name}")
    try:
        return COMMANDS[(command.target, command.name)].model_validate(command.payload)
    except ValidationError as bad:
        raise InvalidEvent(
            [Issue("$." + ".".join(str(p) for p in e["loc"]), e["type"], e["msg"]) for e in bad.errors()]
        ) from None


class IdocSink:
    """Carries out commands by sending IDoc XML to SAP."""

    def __init__(
        self,
        client: IdocClient,
        mapping: SapMapping | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client, self.mapping, self.now = client, mapping or SapMapping(), now

    def document(self, idempotency_key: str, command: Command) -> bytes:
        """The IDoc a command becomes (pure apart from the creation time)."""
        model = parse_command(command)
        if isinstance(model, PostGoodsMovement):
            return t.emit_mbgmcr(model, idempotency_key, self.mapping, self.now())
        assert isinstance(model, SendPurchaseOrder)
        return t.emit_orders(model, idempotency_key, self.mapping, self.now())

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """Send the IDoc; answer its number (DOCNUM), derived from the key."""
        status = self.client.send(self.document(idempotency_key, command))
        return {"idoc": t.docnum(idempotency_key), "status": status}
