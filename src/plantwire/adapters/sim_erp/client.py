"""HTTP calls to the ERP simulator; its errors become the hub's at this boundary (see simfeed.check)."""

from __future__ import annotations

from typing import Any

import httpx

from plantwire.adapters.sim_erp.mapping import SYSTEM
from plantwire.adapters.sim_erp.translate import message_of
from plantwire.adapters.simfeed import call

Json = dict[str, Any]


class ErpClient:
    """The ERP simulator's business API, synchronous (the Sink port is)."""

    def __init__(self, base_url: str, timeout: float = 10.0, http: httpx.Client | None = None) -> None:
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Json:
        answer: Json = call(self.http, SYSTEM, message_of, method, path, **kwargs)
        return answer

    def post_goods_movement(self, body: Json) -> Json:
        """BAPI_GOODSMVT_CREATE."""
        return self._call("POST", "/api/goods-movements", json=body)

    def find_goods_movements(self, reference: str) -> list[Json]:
        """Material documents posted with this REF_DOC_NO (check-before-write)."""
        found: list[Json] = self._call("GET", "/api/goods-movements",
                                       params={"REF_DOC_NO": reference})["DOCUMENTS"]
        return found

    def goods_movement(self, number: str, year: str | None) -> Json:
        """One material document."""
        return self._call("GET", f"/api/goods-movements/{number}", params={"MJAHR": year} if year else None)

    def reverse(self, number: str, body: Json) -> Json:
        """Cancel a material document."""
        return self._call("POST", f"/api/goods-movements/{number}/reversal", json=body)

    def post_accounting(self, body: Json) -> Json:
        """The financial document of a goods receipt to a PO."""
        return self._call("POST", "/api/accounting-documents", json=body)

    def find_accounting(self, reference: str) -> list[Json]:
        """Accounting documents posted with this REF_DOC_NO."""
        found: list[Json] = self._call("GET", "/api/accounting-documents",
                                       params={"REF_DOC_NO": reference})["DOCUMENTS"]
        return found

    def confirm_po(self, ebeln: str, body: Json) -> Json:
        """Record a supplier's confirmation on a PO."""
        return self._call("POST", f"/api/purchase-orders/{ebeln}/confirmations", json=body)

    def close(self) -> None:
        """Release connections."""
        self.http.close()
