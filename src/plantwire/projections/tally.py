"""How many times each event took effect, and how many per type and plant: proof of exactly-once.

Per-type counts are kept per plant (key ``<type>\\x1f<plant>``; ``_`` for enterprise-wide events)
and summed on read (`per_type`): one counter per type written by every worker would make their
transactions clash, while a plant's events are delivered by one worker at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from plantwire.envelope import JournalEntry
from plantwire.ports import StateTx

EVENTS = "tally.events"
TYPES = "tally.types"
SEP = "\x1f"


def event_key(entry: JournalEntry) -> str:
    """The key of an event's count: its identity."""
    return f"{entry.envelope.source}{SEP}{entry.envelope.id}"


def type_key(entry: JournalEntry) -> str:
    """The key of the per-type count an event adds to: its type and plant."""
    plant = entry.envelope.extensions.get("plant")
    return f"{entry.type}{SEP}{plant or '_'}"


def per_type(tx: StateTx) -> dict[str, Decimal]:
    """Events counted per type, all plants together."""
    out: dict[str, Decimal] = {}
    for key, value in tx.scan(TYPES):
        type_ = key.partition(SEP)[0]
        out[type_] = out.get(type_, Decimal(0)) + Decimal(str(value))
    return out


class Tally:
    """Counts every event it is given; a count above one would mean an effect applied twice."""

    name = "tally"
    types: frozenset[str] = frozenset()

    def handle(self, entry: JournalEntry, tx: StateTx) -> None:
        """Count the event."""
        tx.add(EVENTS, event_key(entry), 1)
        tx.add(TYPES, type_key(entry), 1)

    def reads(self, entry: JournalEntry) -> Iterable[tuple[str, str]]:
        """What `handle` reads, so a delivery batch can fetch it in one go."""
        return ((EVENTS, event_key(entry)), (TYPES, type_key(entry)))

    def reset(self, tx: StateTx) -> None:
        """Empty the counts, for a rebuild from the whole journal."""
        tx.clear(EVENTS)
        tx.clear(TYPES)

    def forget(self, entry: JournalEntry, tx: StateTx) -> None:
        """Uncount the event."""
        tx.add(EVENTS, event_key(entry), -1)
        tx.add(TYPES, type_key(entry), -1)
