"""Value maps per partner: a partner's code for something (a status, a plant) -> the canonical code.

State: ``valuemap`` with key ``partner|map|partner_value`` -> {value, at, by}.
"""

from __future__ import annotations

from typing import Any

from plantwire.errors import InvalidEvent, Issue
from plantwire.mapping.xref import check_names
from plantwire.ports import Clock, StateStore

VALUEMAPS = "valuemap"


class ValueMaps:
    """Read and change partners' value maps."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        self.state, self.clock = state, clock

    def set(self, partner: str, map_name: str, partner_value: str, value: str | None, by: str) -> None:
        """Map a partner's value to the canonical one (None removes it)."""
        check_names(partner, map_name, partner_value, value)
        key = "|".join((partner, map_name, partner_value))
        with self.state.transaction() as tx:
            if value is None:
                tx.delete(VALUEMAPS, key)
            else:
                tx.put(VALUEMAPS, key, {"value": value, "at": self.clock.now(), "by": by})

    def table(self, partner: str, map_name: str) -> dict[str, str]:
        """One map as partner value -> canonical value."""
        prefix = f"{partner}|{map_name}|"
        with self.state.transaction() as tx:
            return {k[len(prefix):]: v["value"] for k, v in tx.scan(VALUEMAPS, prefix)}

    def list(self, partner: str | None = None) -> list[dict[str, Any]]:
        """Every entry (of one partner), in key order."""
        prefix = f"{partner}|" if partner else ""
        with self.state.transaction() as tx:
            rows = tx.scan(VALUEMAPS, prefix)
        out = []
        for key, v in rows:
            p, m, pv = key.split("|", 2)
            out.append({"partner": p, "map": m, "partner_value": pv, "value": v["value"],
                        "at": v["at"], "by": v["by"]})
        return out


def translate(table: dict[str, str], partner: str, map_name: str, value: str, path: str = "$") -> str:
    """The canonical value, or InvalidEvent naming the partner, the map and the unknown value (pure)."""
    try:
        return table[value]
    except KeyError:
        known = ", ".join(sorted(table)[:20]) or "none"
        raise InvalidEvent([Issue(path, "valuemap-unknown", f"{partner} {map_name} value {value!r} has no "
                                  f"mapping (known: {known})")]) from None

