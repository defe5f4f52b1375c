"""HTTP calls to SAP S/4HANA OData services (V2 or V4), with the CSRF token dance; errors translated here.

Unreachable in this project's test environment: tests check request shape with httpx.MockTransport.
"""

from __future__ import annotations

from typing import Any

import httpx

from plantwire.errors import PermanentError, TargetUnavailable

Json = dict[str, Any]
SERVICES = {
    "confirmation": "/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV",
    "material_document": "/sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV",
    "production_order": "/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV",
}


def sap_message(response: httpx.Response) -> str:
    """The message of a SAP Gateway error body (V2 error.message.value, V4 error.message)."""
    try:
        error = response.json().get("error", {})
        message = error.get("message")
        return str(message.get("value") if isinstance(message, dict) else message or response.text[:300])
    except ValueError:
        return response.text[:300]


def check(response: httpx.Response) -> httpx.Response:
    """Retryable for 408/429/5xx, permanent for other 4xx."""
    status = response.status_code
    if status in (408, 429) or status >= 500:
        raise TargetUnavailable(f"SAP answered {status}: {sap_message(response)}")
    if status >= 400:
        raise PermanentError(f"SAP refused the request ({status}): {sap_message(response)}")
    return response


class SapODataClient:
    """One SAP system's OData services; a CSRF token is fetched before the first write and on 403."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        sap_client: str = "100",
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            auth=(user, password),
            timeout=timeout,
            transport=transport,
            params={"sap-client": sap_client},
            headers={"Accept": "application/json"},
        )
        self._token: str | None = None

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            raise TargetUnavailable(f"SAP unreachable: {error}") from error

    def fetch_token(self, service: str) -> str:
        """GET the service root with X-CSRF-Token: Fetch; the session cookies stay in the client."""
        answer = check(self._send("GET", f"{SERVICES[service]}/", headers={"X-CSRF-Token": "Fetch"}))
        token = answer.headers.get("x-csrf-token")
        if not token:
            raise PermanentError("SAP did not hand out a CSRF token")
        self._token = str(token)
        return self._token

    def get(self, service: str, path: str, params: dict[str, str] | None = None) -> Json:
        """A read, e.g. ("material_document", "A_MaterialDocumentHeader", {"$filter": ...})."""
        body: Json = check(self._send("GET", f"{SERVICES[service]}/{path}", params=params)).json()
        return body

    def post(self, service: str, entity_set: str, body: Json) -> Json:
        """Create an entity (deep insert allowed), refetching the CSRF token once if SAP asks for it."""
        for attempt in (1, 2):
            token = self._token or self.fetch_token(service)
            answer = self._send(
                "POST",
                f"{SERVICES[service]}/{entity_set}",
                json=body,
                headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
            )
            if answer.status_code == 403 and answer.headers.get("x-csrf-token", "").lower() == "required":
                self._token = None
                if attempt == 1:
                    continue
            created: Json = check(answer).json()
            return created
        raise PermanentError("SAP kept refusing the CSRF token")  # pragma: no cover

    def close(self) -> None:
        self.http.close()
