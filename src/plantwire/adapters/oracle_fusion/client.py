"""HTTP calls to Oracle Fusion Cloud SCM REST resources; errors translated at this boundary.

Unreachable in this project's test environment: tests check request shape with httpx.MockTransport.
"""

from __future__ import annotations

from typing import Any

import httpx

from plantwire.adapters.oracle_fusion.mapping import ITEM_MEDIA, RESOURCES, REST_FRAMEWORK_VERSION
from plantwire.errors import PermanentError, TargetUnavailable

Json = dict[str, Any]


class OracleClient:
    """One Fusion pod: basic auth (or a bearer token), REST-Framework-Version pinned."""

    def __init__(
        self,
        base_url: str,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"REST-Framework-Version": REST_FRAMEWORK_VERSION, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        auth = (user, password) if user and password and not token else None
        self.http = httpx.Client(
            base_url=base_url, auth=auth, headers=headers, timeout=timeout, transport=transport
        )

    def _send(self, method: str, url: str, **kwargs: Any) -> Json:
        try:
            answer = self.http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            raise TargetUnavailable(f"Oracle Fusion unreachable: {error}") from error
        if answer.status_code in (408, 429) or answer.status_code >= 500:
            raise TargetUnavailable(f"Oracle Fusion answered {answer.status_code}")
        if answer.status_code >= 400:
            raise PermanentError(
                f"Oracle Fusion refused the request ({answer.status_code}): {answer.text[:300]}"
            )
        body: Json = answer.json() if answer.content else {}
        return body

    def find(self, resource: str, q: str, expand: str | None = None, limit: int = 25) -> Json:
        """GET a collection filtered with Oracle's q= syntax (onlyData, optional expand)."""
        params = {"q": q, "onlyData": "true", "limit": str(limit)}
        if expand:
            params["expand"] = expand
        return self._send("GET", RESOURCES[resource], params=params)

    def create(self, resource: str, body: Json) -> Json:
        """POST one item."""
        return self._send("POST", RESOURCES[resource], json=body, headers={"Content-Type": ITEM_MEDIA})

    def close(self) -> None:
        self.http.close()
