"""Cross-references: per system and kind, a system id <-> one golden id; every change a new version.

State layout (namespaces):
- ``xref.map``: ``system|kind|system_id`` -> the list of versions, oldest first; each version has the
  golden id (None once removed), its per-mapping ``version``, the hub-wide ``revision`` it was made in,
  and who, when and why.
- ``xref.golden``: ``system|kind|golden`` -> the system id mapped to it now (one-to-one per system).
- ``xref.known``: ``kind|golden`` -> the systems that map to it now (referential checks).
- ``xref.meta``: ``revision`` -> the last revision number; "as of revision N" reads any mapping then.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from plantwire.errors import BusinessRuleViolation, NotFound, RequestRejected
from plantwire.ports import Clock, StateStore, StateTx

MAP, GOLDEN, KNOWN, META = "xref.map", "xref.golden", "xref.known", "xref.meta"
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
ID = re.compile(r"^\S(?:.{0,126}\S)?$")


class XrefConflict(BusinessRuleViolation):
    """A golden id is already mapped from another id of the same system and kind."""


@dataclass(frozen=True)
class XrefVersion:
    """One version of one mapping: system id -> golden id (None when the mapping was removed)."""

    system: str
    kind: str
    system_id: str
    golden: str | None
    version: int
    revision: int
    at: float
    by: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape used by the API and the CLI."""
        return asdict(self)


def check_names(system: str, kind: str, system_id: str, golden: str | None = None) -> None:
    """Refuse malformed names: systems and kinds are short lowercase words, ids 1-128 characters."""
    for label, value, pattern in (("system", system, NAME), ("kind", kind, NAME),
                                  ("system_id", system_id, ID), ("golden", golden, ID)):
        if value is not None and not pattern.match(value):
            form = "lowercase letters, digits, _ . -" if pattern is NAME else "1-128 characters"
            raise RequestRejected(422, f"xref-{label}", f"{label} {value!r} is not valid ({form})",
                                  f"$.{label}")


def _key(*parts: str) -> str:
    return "|".join(parts)


def _version(system: str, kind: str, system_id: str, raw: dict[str, Any]) -> XrefVersion:
    return XrefVersion(system, kind, system_id, raw["golden"], raw["version"], raw["revision"],
                       raw["at"], raw["by"], raw["why"])


def current(tx: StateTx, system: str, kind: str, system_id: str) -> str | None:
    """The golden id a system id maps to now, or None."""
    versions = tx.get(MAP, _key(system, kind, system_id))
    return versions[-1]["golden"] if versions else None


def golden_known(tx: StateTx, kind: str, golden: str, system: str | None = None) -> bool:
    """Whether a golden id is mapped from any system (or from the given one)."""
    if system is not None:
        return tx.get(GOLDEN, _key(system, kind, golden)) is not None
    return bool(tx.get(KNOWN, _key(kind, golden)))


def apply(tx: StateTx, system: str, kind: str, system_id: str, golden: str | None,
          at: float, by: str, why: str) -> XrefVersion | None:
    """Map (or with golden None, unmap) a system id in a transaction; None when nothing changes."""
    check_names(system, kind, system_id, golden)
    key = _key(system, kind, system_id)
    versions: list[dict[str, Any]] = tx.get(MAP, key) or []
    old = versions[-1]["golden"] if versions else None
    if old == golden:
        return None
    if golden is not None:
        holder = tx.get(GOLDEN, _key(system, kind, golden))
        if holder is not None and holder != system_id:
            raise XrefConflict(f"golden {kind} {golden!r} is already mapped from {system} id {holder!r}; "
                               "remove that mapping first")
    revision = int(tx.add(META, "revision", 1))
    raw = {"golden": golden, "version": len(versions) + 1, "revision": revision, "at": at, "by": by,
           "why": why}
    tx.put(MAP, key, [*versions, raw])
    if old is not None:
        tx.delete(GOLDEN, _key(system, kind, old))
        _known(tx, kind, old, system, present=False)
    if golden is not None:
        tx.put(GOLDEN, _key(system, kind, golden), system_id)
        _known(tx, kind, golden, system, present=True)
    return _version(system, kind, system_id, raw)


def _known(tx: StateTx, kind: str, golden: str, system: str, present: bool) -> None:
    systems = set(tx.get(KNOWN, _key(kind, golden)) or [])
    systems = systems | {system} if present else systems - {system}
    if systems:
        tx.put(KNOWN, _key(kind, golden), sorted(systems))
    else:
        tx.delete(KNOWN, _key(kind, golden))


def as_of(versions: list[XrefVersion], revision: int | None) -> XrefVersion | None:
    """The version in force at a revision (the newest with None); pure."""
    chosen = [v for v in versions if revision is None or v.revision <= revision]
    return chosen[-1] if chosen else None


class XrefStore:
    """Read and change cross-references; each change is one transaction and a new version."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        self.state, self.clock = state, clock

    def set(self, system: str, kind: str, system_id: str, golden: str | None, by: str,
            why: str = "") -> XrefVersion | None:
        """Map a system id to a golden id (None removes the mapping); None when unchanged."""
        with self.state.transaction() as tx:
            return apply(tx, system, kind, system_id, golden, self.clock.now(), by, why)

    def history(self, system: str, kind: str, system_id: str) -> list[XrefVersion]:
        """Every version of one mapping, oldest first."""
        with self.state.transaction() as tx:
            raw = tx.get(MAP, _key(system, kind, system_id)) or []
        return [_version(system, kind, system_id, r) for r in raw]

    def get(self, system: str, kind: str, system_id: str, revision: int | None = None) -> XrefVersion:
        """The mapping now, or as of a revision; NotFound when there was none (or it was removed)."""
        found = as_of(self.history(system, kind, system_id), revision)
        if found is None or found.golden is None:
            when = f" as of revision {revision}" if revision is not None else ""
            raise NotFound(f"no cross-reference for {system} {kind} {system_id!r}{when}")
        return found

    def golden(self, system: str, kind: str, system_id: str) -> str:
        """The golden id of a system id now; NotFound names the system, kind and value."""
        golden = self.get(system, kind, system_id).golden
        assert golden is not None
        return golden

    def list(self, system: str | None = None, kind: str | None = None,
             with_removed: bool = False) -> list[XrefVersion]:
        """The current mappings, filtered by system and kind, in key order."""
        prefix = "" if system is None else _key(system, kind, "") if kind is not None else system + "|"
        with self.state.transaction() as tx:
            rows = tx.scan(MAP, prefix)
        out = []
        for key, raw in rows:
            sys_, kind_, sid = key.split("|", 2)
            if kind is None or kind_ == kind:
                v = _version(sys_, kind_, sid, raw[-1])
                if with_removed or v.golden is not None:
                    out.append(v)
        return out

    def table(self, system: str, kind: str) -> dict[str, str]:
        """Golden id -> system id for one system and kind: what an adapter's CrossReference takes."""
        return {v.golden: v.system_id for v in self.list(system, kind) if v.golden is not None}

    def revision(self) -> int:
        """The newest revision number (0 before any change)."""
        with self.state.transaction() as tx:
            return int(tx.get(META, "revision") or 0)
