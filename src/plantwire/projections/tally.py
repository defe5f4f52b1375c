"""How many times each event took effect, and how many per type: proof of exactly-once."""

from __future__ import annotations

from plantwire.envelope import JournalEntry
from plantwire.ports import StateTx

EVENTS = "tally.events"
TYPES = "tally.types"
SEP = "\x1f"


class Tally:
    """Counts every event it is given; a count above one would mean an effect applied twice."""

    name = "tally"
    types: frozenset[str] = frozenset()

    def handle(self, entry: JournalEntry, tx: StateTx) -> None:
        """Count the event."""
        env = entry.envelope
        tx.add(EVENTS, f"{env.source}{SEP}{env.id}", 1)
        tx.add(TYPES, env.type, 1)

    def reset(self, tx: StateTx) -> None:
        """Empty the counts, for a rebuild from the whole journal."""
        tx.clear(EVENTS)
        tx.clear(TYPES)

    def forget(self, entry: JournalEntry, tx: StateTx) -> None:
        """Uncount the event."""
        env = entry.envelope
        tx.add(EVENTS, f"{env.source}{SEP}{env.id}", -1)
        tx.add(TYPES, env.type, -1)
