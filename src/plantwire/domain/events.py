"""Building blocks shared by the event contracts (production, inventory, procurement, quality)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Protocol

from pydantic import AwareDatetime, Field, StringConstraints

from plantwire.domain.master import duplicates
from plantwire.domain.quantities import CanonicalModel

__all__ = [
    "BusinessTime",
    "CurrencyCode",
    "EventData",
    "ReasonCode",
    "Revision",
    "Text",
    "unique_lines",
]

BusinessTime = AwareDatetime
"""When something happened in the business, with its UTC offset (naive times are refused)."""

ReasonCode = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.:-]+$")
]
"""A short code from a reason-code list, e.g. QC-01, DAMAGED."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
"""Free text a person wrote: a reason, a note."""

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""An ISO 4217 currency code, e.g. EUR."""

Revision = Annotated[int, Field(ge=0, le=999_999)]
"""A document revision counter (0 for the first issue)."""


class EventData(CanonicalModel):
    """Base of the `data` of every business event."""


class _Numbered(Protocol):
    @property
    def line(self) -> int: ...


def unique_lines(lines: Iterable[_Numbered]) -> None:
    """Refuse a document whose line numbers repeat."""
    repeated = duplicates(item.line for item in lines)
    if repeated:
        raise ValueError(f"line numbers must be unique; repeated: {repeated}")
