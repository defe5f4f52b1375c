"""Refuse JSON objects that name a member twice. Pure.

RFC 8259 leaves a repeated member name to the parser ("the names within an object SHOULD be
unique"): orjson and msgspec keep the last value, other parsers the first. An event whose
`quantity` or `id` means one thing here and another to the sender's own checker is an ambiguity we
refuse: the event is rejected with an issue at the member's path (in a batch, only that event).

The check is cheap on the common body: every member of a compact or pretty-printed document is a
`"name":` in the text, so when the text holds exactly as many `":` as the parsed document holds
members (and no name is followed by whitespace before its colon) no object can have lost one.
Only otherwise (a `":` inside a string value, `"name" :`, or a real duplicate) is the body parsed
again, keeping every pair, to find and locate the duplicate.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from plantwire.envelope import Pending
from plantwire.errors import Issue
from plantwire.service.bodies import BATCH, STRUCTURED

_SPACED_COLON = re.compile(rb'"[ \t\r\n]+:')
_GENERIC = msgspec.json.Decoder()


class _Pairs(list[tuple[str, Any]]):
    """An object as every (name, value) pair the text holds, in order."""


def duplicate_members(body: bytes) -> list[Issue]:
    """One issue per member whose name its object already holds, with its path from the body's
    root, in document order; none for a body that is not JSON (its parser says where it broke)."""
    try:
        parsed = _GENERIC.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return []
    if _SPACED_COLON.search(body) is None and body.count(b'":') == _members(parsed):
        return []
    try:
        pairs = json.loads(body, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        return []
    return [Issue(path, "duplicate-member",
                  f"member {name[:64]!r} appears more than once in the same object")
            for path, name in _duplicates(pairs)]


def _members(value: Any) -> int:
    """How many members all objects in a parsed document hold together."""
    count, stack = 0, [value]
    pop, push = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            count += len(item)
            push(item.values())
        elif kind is list:
            push(item)
    return count


def _duplicates(value: Any) -> list[tuple[str, str]]:
    """(path, name) of every repeated member, depth first in document order."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _Pairs):
            seen: set[str] = set()
            for name, _ in item:
                if name in seen:
                    found.append((_child(where, name), name))
                seen.add(name)
            stack.extend(reversed([(v, _child(where, n)) for n, v in item]))
        elif isinstance(item, list):
            stack.extend(reversed([(v, f"{where}[{i}]") for i, v in enumerate(item)]))
    return found


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{name[:64]!r}]"


class Ambiguous(dict[str, Any]):
    """An event whose text names a member twice; validation rejects it with `issues`."""

    issues: list[Issue]


def mark_ambiguous(events: list[Any], duplicates: list[Issue], media: str) -> list[Any]:
    """The events with each one that holds a duplicate member replaced by an Ambiguous (its source
    and id, and its issues with paths from the event's root). `media` says how the body held them:
    a batch array, one structured event, or (any other) the data of one binary-mode event."""
    by_event: dict[int, list[Issue]] = {}
    for issue in duplicates:
        index, path = _event_path(issue.path, media)
        if index < len(events):
            by_event.setdefault(index, []).append(Issue(path, issue.rule, issue.message))
    out = list(events)
    for index, issues in by_event.items():
        event = events[index]
        source, event_id = event.identity if isinstance(event, Pending) else (
            (event.get("source"), event.get("id")) if isinstance(event, dict) else (None, None))
        marked = Ambiguous(source=source, id=event_id)
        marked.issues = issues
        out[index] = marked
    return out


_INDEX = re.compile(r"^\$\[(\d+)\]")


def _event_path(path: str, media: str) -> tuple[int, str]:
    """(which event, path from its root) of a path from the body's root."""
    if media == BATCH:
        found = _INDEX.match(path)
        if found is None:
            return 1 << 62, path  # the array itself cannot repeat a member
        return int(found.group(1)), "$" + path[found.end():]
    if media == STRUCTURED:
        return 0, path
    return 0, "$.data" + path[1:]
