"""The OData sink: erp.post_goods_movement -> A_MaterialDocumentHeader (check-before-write on
ReferenceDocument, which carries the idempotency key or its hash)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from plantwire.adapters.sap.common import reference
from plantwire.adapters.sap.mapping import SapMapping
from plantwire.adapters.sap.odata import translate as t
from plantwire.adapters.sap.odata.client import SapODataClient
from plantwire.domain.commands import PostGoodsMovement
from plantwire.errors import PermanentError
from plantwire.ports import Command


class ODataSink:
    """Posts material documents through API_MATERIAL_DOCUMENT_SRV (V2)."""

    def __init__(
        self,
        client: SapODataClient,
        mapping: SapMapping | None = None,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.client, self.mapping, self.today = client, mapping or SapMapping(), today

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """Post one material document unless one with this reference exists."""
        if (command.target, command.name) != ("erp", "post_goods_movement"):
            raise PermanentError(f"the SAP OData sink cannot execute {command.target}.{command.name}")
        cmd = PostGoodsMovement.model_validate(command.payload)
        ref = reference(idempotency_key, 16)
        found = self.client.get(
            "material_document",
            t.MATERIAL_DOCUMENT_SET,
            {"$filter": f"ReferenceDocument eq '{ref}'", "$top": "1"},
        )
        existing = t.entities(found)
        if existing:
            doc = existing[0]
            return {
                "document": doc.get("MaterialDocument"),
                "year": doc.get("MaterialDocumentYear"),
                "existing": True,
            }
        body = t.emit_material_document(cmd, idempotency_key, self.mapping, self.today())
        doc = t.entity(self.client.post("material_document", t.MATERIAL_DOCUMENT_SET, body))
        return {
            "document": doc.get("MaterialDocument"),
            "year": doc.get("MaterialDocumentYear"),
            "existing": False,
        }
