"""Encoding shared by the storage backends: state values and journal bodies."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

import orjson

from plantwire.envelope import Envelope, JournalEntry


def _default(obj: object) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in state")


def dump_value(value: Any) -> bytes:
    """State values are JSON; Decimals are kept exact as strings."""
    return orjson.dumps(value, default=_default)


def load_value(raw: bytes | str) -> Any:
    """Inverse of dump_value."""
    return orjson.loads(raw)


def to_decimal(value: Any) -> Decimal:
    """A stored numeric value as an exact Decimal (None counts as zero)."""
    if value is None:
        return Decimal(0)
    return Decimal(str(value)) if not isinstance(value, Decimal) else value


# Wide enough for any amount the domain allows (18 + 18 digits): the default context (28 digits)
# would round a sum silently.
_WIDE = decimal.Context(prec=200, Emax=999_999, Emin=-999_999)


def add_exact(value: Any, delta: Decimal | int) -> Decimal:
    """A stored numeric value plus delta, without rounding."""
    return _WIDE.add(to_decimal(value), Decimal(delta))


def entry_from_row(seq: int, recorded_at: float, body: bytes) -> JournalEntry:
    """A journal entry from its stored columns."""
    return JournalEntry(seq, recorded_at, Envelope.from_cloudevent(orjson.loads(body)))
