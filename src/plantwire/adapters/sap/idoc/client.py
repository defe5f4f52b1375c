"""HTTP transport of IDoc XML into SAP (ICF service /sap/bc/idoc_xml); errors translated here.

Unreachable in this project's test environment: tests check request shape with httpx.MockTransport.
"""

from __future__ import annotations

import httpx

from plantwire.errors import PermanentError, TargetUnavailable

IDOC_XML_PATH = "/sap/bc/idoc_xml"


class IdocClient:
    """Posts IDoc XML documents to one SAP system's IDoc-XML inbound service."""

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
        )

    def send(self, document: bytes) -> int:
        """Hand one IDoc to SAP; the answer is the HTTP status (SAP returns no IDoc number here)."""
        try:
            answer = self.http.post(
                IDOC_XML_PATH, content=document, headers={"Content-Type": "application/xml; charset=utf-8"}
            )
        except httpx.TransportError as error:
            raise TargetUnavailable(f"SAP unreachable: {error}") from error
        if answer.status_code in (408, 429) or answer.status_code >= 500:
            raise TargetUnavailable(f"SAP answered {answer.status_code}")
        if answer.status_code >= 400:
            raise PermanentError(f"SAP refused the IDoc ({answer.status_code}): {answer.text[:300]}")
        return answer.status_code

    def close(self) -> None:
        self.http.close()
