"""HTTP calls to Dynamics 365 F&O OData (/data); errors translated at this boundary.

The bearer token comes from a callable the configuration supplies (an Entra ID client-credentials
flow in production); unreachable here, so tests check request shape with httpx.MockTransport.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from plantwire.errors import PermanentError, TargetUnavailable

Json = dict[str, Any]


class D365Client:
    """One F&O environment's OData endpoint."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.token = token
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/data",
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0"},
        )

    def _send(self, method: str, url: str, **kwargs: Any) -> Json:
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        try:
            answer = self.http.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as error:
            raise TargetUnavailable(f"D365 unreachable: {error}") from error
        if answer.status_code in (408, 429) or answer.status_code >= 500:
            raise TargetUnavailable(f"D365 answered {answer.status_code}")
        if answer.status_code >= 400:
            raise PermanentError(f"D365 refused the request ({answer.status_code}): {answer.text[:300]}")
        body: Json = answer.json() if answer.content else {}
        return body

    def query(self, entity_set: str, odata_filter: str, company: str) -> list[Json]:
        """Rows of an entity set in one legal entity."""
        body = self._send(
            "GET",
            f"/{entity_set}",
            params={"$filter": f"dataAreaId eq '{company}' and ({odata_filter})", "cross-company": "true"},
        )
        rows: list[Json] = body.get("value", [])
        return rows

    def create(self, entity_set: str, body: Json) -> Json:
        """POST one entity."""
        return self._send("POST", f"/{entity_set}", json=body, headers={"Content-Type": "application/json"})

    def close(self) -> None:
        self.http.close()
