"""Cross-references between golden ids and Tryton's codes, and Tryton's codes to its record ids.

Golden ids map to Tryton's *codes* (product ``code``, stock location ``code``, party ``code``,
warehouse ``code``, unit ``symbol``), never to database ids: codes are what a plant engineer sees in
Tryton and they survive a database rebuild. The tables come from the governed cross-reference store
(``plantwire xref set tryton item RM-BOLT RM-BOLT-M8``; kinds ``item``, ``location``, ``party``,
``plant``, ``unit``), over the defaults given here. ``TrytonIds`` then resolves codes to ids once
per session, looked up, never hard-coded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plantwire.adapters.simfeed import CrossReference, UnknownCrossReference
from plantwire.mapping.xref import XrefStore

SYSTEM = "tryton"
KINDS = ("item", "location", "party", "plant", "unit")

UNITS: dict[str, str] = {"EA": "u", "M": "m", "KG": "kg"}
"""Canonical unit -> Tryton unit symbol (the seeded "Unit", "Meter", "Kilogram")."""


@dataclass(frozen=True)
class TrytonMapping:
    """The Tryton cross-references as lookups; unknown ids raise UnknownCrossReference."""

    items: CrossReference
    locations: CrossReference
    parties: CrossReference
    plants: CrossReference
    units: CrossReference = field(default_factory=lambda: CrossReference(SYSTEM, "unit", UNITS))
    blocked: Mapping[str, str] = field(default_factory=dict)
    """Warehouse code -> code of the location that holds blocked (quality-held) stock."""

    @classmethod
    def from_tables(cls, tables: Mapping[str, Mapping[str, str]],
                    blocked: Mapping[str, str] | None = None) -> TrytonMapping:
        """From golden -> Tryton code tables per kind (missing kinds are empty, units default)."""
        def ref(kind: str, default: Mapping[str, str] | None = None) -> CrossReference:
            return CrossReference(SYSTEM, kind, {**(default or {}), **tables.get(kind, {})})
        return cls(items=ref("item"), locations=ref("location"), parties=ref("party"),
                   plants=ref("plant"), units=ref("unit", UNITS), blocked=dict(blocked or {}))

    @classmethod
    def from_xref(cls, store: XrefStore, defaults: Mapping[str, Mapping[str, str]] | None = None,
                  blocked: Mapping[str, str] | None = None) -> TrytonMapping:
        """From the governed cross-reference store (system "tryton"), over `defaults`."""
        tables = {kind: {**(defaults or {}).get(kind, {}), **store.table(SYSTEM, kind)} for kind in KINDS}
        return cls.from_tables(tables, blocked)

    def blocked_location(self, warehouse_code: str) -> str:
        """The code of the blocked-stock location of a warehouse."""
        try:
            return self.blocked[warehouse_code]
        except KeyError:
            raise UnknownCrossReference(SYSTEM, "blocked location of warehouse", warehouse_code) from None


class TrytonIds:
    """Tryton codes -> record ids (and back), read once per model from the server and cached."""

    MODELS = {"product": ("product.product", "code"), "location": ("stock.location", "code"),
              "party": ("party.party", "code"), "unit": ("product.uom", "symbol")}

    def __init__(self, call: Any) -> None:
        self._search = call  # TrytonClient.search_read
        self._by_code: dict[str, dict[str, int]] = {}
        self._by_id: dict[str, dict[int, str]] = {}

    def _load(self, kind: str) -> None:
        model, attr = self.MODELS[kind]
        domain: list[Any] = [[attr, "!=", None]]
        rows = self._search(model, domain, ["id", attr], context={"active_test": False})
        self._by_code[kind] = {str(r[attr]): int(r["id"]) for r in rows}
        self._by_id[kind] = {int(r["id"]): str(r[attr]) for r in rows}

    def id(self, kind: str, code: str) -> int:
        """The record id of a code (reloaded once when unknown, e.g. a location created since)."""
        if kind not in self._by_code or code not in self._by_code[kind]:
            self._load(kind)
        try:
            return self._by_code[kind][code]
        except KeyError:
            raise UnknownCrossReference(SYSTEM, f"{kind} code", code) from None

    def code(self, kind: str, record_id: int) -> str:
        """The code of a record id."""
        if kind not in self._by_id or record_id not in self._by_id[kind]:
            self._load(kind)
        try:
            return self._by_id[kind][record_id]
        except KeyError:
            raise UnknownCrossReference(SYSTEM, f"{kind} id", record_id) from None
