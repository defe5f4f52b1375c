"""An HTTP EDI mailbox: interchanges POSTed to ``/edi/inbound``, the partner's own read from
``GET /edi/outbound?after=N`` (a monotonic ``seq`` per document, raw X12 in ``x12``).

The mailbox URL of a role is written ``x12+http://host:port`` (or ``x12+https://``); query
parameters name the trading partner: ``partner`` (their ISA id, default ``ACMECOMP``), ``us`` (ours,
default ``PLANTWIRE``), ``version`` (GS08, default ``004010``). Transport errors and 5xx/408/429
answers become TargetUnavailable here; other 4xx answers are permanent refusals.
"""

from __future__ import annotations

from typing import Any, Literal, cast
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from plantwire.adapters.x12.mapping import Partner
from plantwire.errors import BusinessRuleViolation, ConfigurationError, TargetUnavailable

Json = dict[str, Any]
SCHEME_PREFIX = "x12+"
CONTENT_TYPE = "application/edi-x12"


def is_mailbox_url(url: str) -> bool:
    """Whether a role URL selects the X12 mailbox (``x12+http://`` or ``x12+https://``)."""
    return url.startswith((f"{SCHEME_PREFIX}http://", f"{SCHEME_PREFIX}https://"))


def mailbox(url: str) -> tuple[str, Partner]:
    """The base URL and the trading partner a ``x12+http(s)://...`` role URL names."""
    if not is_mailbox_url(url):
        raise ConfigurationError(f"{url!r}: an X12 mailbox URL starts with x12+http:// or x12+https://")
    parts = urlsplit(url.removeprefix(SCHEME_PREFIX))
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    usage = query.get("usage", "P")
    if usage not in ("P", "T"):
        raise ConfigurationError(f"{url!r}: usage must be P or T")
    partner = Partner(partner_id=query.get("partner", "ACMECOMP"), our_id=query.get("us", "PLANTWIRE"),
                      version=query.get("version", "004010"), usage=cast(Literal["P", "T"], usage))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", "")), partner


class MailboxRefused(BusinessRuleViolation):
    """The mailbox answered 4xx: it will refuse the same interchange again."""


def _checked(resp: httpx.Response, what: str) -> Json:
    if resp.status_code >= 500 or resp.status_code in (408, 429):
        raise TargetUnavailable(f"{what}: the mailbox answered {resp.status_code}: {resp.text[:300]}")
    if resp.status_code >= 400:
        raise MailboxRefused(f"{what}: the mailbox refused ({resp.status_code}): {resp.text[:300]}")
    try:
        body = resp.json()
    except ValueError:
        raise TargetUnavailable(f"{what}: the mailbox sent an unreadable answer") from None
    if not isinstance(body, dict):
        raise TargetUnavailable(f"{what}: the mailbox sent an unreadable answer")
    return body


def _unavailable(what: str, error: httpx.HTTPError) -> TargetUnavailable:
    return TargetUnavailable(f"{what}: mailbox unreachable: {type(error).__name__}: {error}")


class MailboxClient:
    """Synchronous posting of interchanges (the Sink port is synchronous)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def post(self, data: bytes) -> Json:
        """Deliver one interchange; the mailbox dedupes on sender + ISA13."""
        try:
            resp = self.http.post("/edi/inbound", content=data, headers={"content-type": CONTENT_TYPE})
        except httpx.HTTPError as error:
            raise _unavailable("POST /edi/inbound", error) from error
        return _checked(resp, "POST /edi/inbound")

    def close(self) -> None:
        """Release connections."""
        self.http.close()


class AsyncMailboxClient:
    """The partner's outbound feed and our acknowledgments back, for the polling source."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def outbound(self, after: int, limit: int) -> Json:
        """One page of documents after `after`: {"documents": [{"seq", "x12", ...}], "next_after"}."""
        try:
            resp = await self.http.get("/edi/outbound", params={"after": after, "limit": limit})
        except httpx.HTTPError as error:
            raise _unavailable("GET /edi/outbound", error) from error
        page = _checked(resp, "GET /edi/outbound")
        if not isinstance(page.get("documents"), list):
            raise TargetUnavailable("GET /edi/outbound: no documents list in the answer")
        return page

    async def post(self, data: bytes) -> Json:
        """Deliver one interchange (our 997s)."""
        try:
            resp = await self.http.post("/edi/inbound", content=data, headers={"content-type": CONTENT_TYPE})
        except httpx.HTTPError as error:
            raise _unavailable("POST /edi/inbound", error) from error
        return _checked(resp, "POST /edi/inbound")

    async def aclose(self) -> None:
        """Release connections."""
        await self.http.aclose()
