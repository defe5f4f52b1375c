"""System of record: which system owns which attribute of which object, as data; and no echo loops.

An ownership file (TOML ``[[owner]]`` tables or JSON ``{"owners": [...], "sources": {...}}``) says,
per attribute, the owning system, what to do with an update from anyone else (``reject`` or
``quarantine`` for review), which systems receive the owner's changes (``consumers``), and where
events carry the attribute (``updates``: event type + data path). ``sources`` maps CloudEvents
``source`` prefixes to system names; an event's ``sourcesystem`` extension, when present, wins.

Plantwire marks what it sends out (``origin=plantwire`` and a ``causationid`` beginning
``plantwire:``); a target that reports the change back carries the marks, and such an echo is neither
refused as a non-owner update nor sent out again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plantwire.errors import Issue, RequestRejected
from plantwire.mapping.findings import Finding, Severity, steps, values_at

PLANTWIRE = "plantwire"
CAUSATION_PREFIX = "plantwire:"


@dataclass(frozen=True)
class Binding:
    """Where events of one type carry an attribute."""

    type: str
    path: str


@dataclass(frozen=True)
class Ownership:
    """One attribute of one kind of object, its owning system and how conflicts are handled."""

    object: str
    attribute: str
    owner: str
    on_conflict: Severity = "reject"
    consumers: tuple[str, ...] = ()
    updates: tuple[Binding, ...] = ()


@dataclass(frozen=True)
class OwnershipBook:
    """Every ownership declaration and the source-prefix -> system table."""

    owners: tuple[Ownership, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)


def parse_book(doc: Mapping[str, Any]) -> OwnershipBook:
    """An ownership book from its TOML/JSON document; refuses bad entries with their index."""
    raw = doc.get("owner", doc.get("owners", []))
    sources = doc.get("sources", {})
    if not isinstance(raw, list) or not isinstance(sources, dict):
        raise RequestRejected(422, "owners-file", "'owners' must be a list and 'sources' an object")
    owners = []
    for i, item in enumerate(raw):
        try:
            owners.append(_owner(item))
        except (ValueError, TypeError, KeyError) as bad:
            raise RequestRejected(422, "owners-entry", f"owner #{i}: {bad}", f"$.owners[{i}]") from None
    return OwnershipBook(tuple(owners), {str(k): str(v) for k, v in sources.items()})


def _owner(item: Any) -> Ownership:
    if not isinstance(item, dict):
        raise TypeError("an owner entry must be an object")
    conflict = item.get("on_conflict", "reject")
    if conflict not in ("reject", "quarantine"):
        raise ValueError(f"on_conflict must be reject or quarantine, got {conflict!r}")
    updates = tuple(Binding(str(u["type"]), str(u["path"])) for u in item.get("updates", []))
    for u in updates:
        steps(u.path)
    return Ownership(str(item["object"]), str(item["attribute"]), str(item["system"]), conflict,
                     tuple(map(str, item.get("consumers", []))), updates)


def book_dict(book: OwnershipBook) -> dict[str, Any]:
    """The JSON document of a book (what is stored, listed and re-loadable)."""
    return {"sources": dict(book.sources), "owners": [
        {"object": o.object, "attribute": o.attribute, "system": o.owner, "on_conflict": o.on_conflict,
         "consumers": list(o.consumers), "updates": [{"type": b.type, "path": b.path} for b in o.updates]}
        for o in book.owners]}


def origin(source: str, extensions: Mapping[str, Any], sources: Mapping[str, str]) -> str | None:
    """The system an event came from: its ``sourcesystem`` extension, else the longest source prefix."""
    declared = extensions.get("sourcesystem")
    if isinstance(declared, str) and declared:
        return declared
    matches = [p for p in sources if source.startswith(p)]
    return sources[max(matches, key=len)] if matches else None


def is_echo(extensions: Mapping[str, Any]) -> bool:
    """Whether an event reports back a change plantwire itself sent out."""
    cause = extensions.get("causationid")
    return extensions.get("origin") == PLANTWIRE or (isinstance(cause, str)
                                                      and cause.startswith(CAUSATION_PREFIX))


def outbound_marks(source: str, event_id: str) -> dict[str, str]:
    """What plantwire attaches to a change it sends to a system, so the system's echo is known."""
    return {"origin": PLANTWIRE, "causationid": f"{CAUSATION_PREFIX}{source}#{event_id}"}


def _updated(book: OwnershipBook, type_: str, data: Mapping[str, Any]) -> list[tuple[Ownership, str]]:
    """The owned attributes an event carries, with the JSON path of the first value."""
    out = []
    for own in book.owners:
        for binding in own.updates:
            if binding.type != type_:
                continue
            present = [p for p, v in values_at(data, binding.path) if v is not None]
            if present:
                out.append((own, present[0]))
                break
    return out


def judge(book: OwnershipBook, type_: str, data: Mapping[str, Any], source: str,
          extensions: Mapping[str, Any]) -> list[Finding]:
    """Findings for updates of owned attributes from a system that does not own them (pure)."""
    if is_echo(extensions):
        return []
    sender = origin(source, extensions, book.sources)
    out = []
    for own, path in _updated(book, type_, data):
        if sender != own.owner:
            who = sender or f"an unknown system (source {source!r})"
            out.append(Finding(own.on_conflict, Issue(
                path, "system-of-record",
                f"{who} may not update {own.object}.{own.attribute}: {own.owner} owns it")))
    return out


def fan_out(book: OwnershipBook, type_: str, data: Mapping[str, Any], source: str,
            extensions: Mapping[str, Any]) -> dict[str, list[str]]:
    """System -> the owned attributes (object.attribute) to send it; never the sender, never an echo."""
    if is_echo(extensions):
        return {}
    sender = origin(source, extensions, book.sources)
    out: dict[str, list[str]] = {}
    for own, _ in _updated(book, type_, data):
        if sender != own.owner:
            continue
        for target in own.consumers:
            if target != sender:
                out.setdefault(target, []).append(f"{own.object}.{own.attribute}")
    return out
