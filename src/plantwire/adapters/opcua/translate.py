"""OPC UA data changes to tag changes and events, and commands to node writes. Pure: no I/O."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plantwire.adapters._rules import Change, Derived, Scope, apply_changes
from plantwire.adapters.opcua.rules import OpcUaMapping
from plantwire.errors import InvalidEvent, Issue
from plantwire.ports import Command


@dataclass(frozen=True)
class Reading:
    """One data change as the client saw it: tag, value, status, and the two timestamps."""

    tag: str
    value: Any
    status: str = "Good"
    source_time: datetime | None = None
    server_time: datetime | None = None


def to_millis(at: datetime) -> int:
    """Milliseconds since the epoch; OPC UA times without a zone are UTC."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def to_change(mapping: OpcUaMapping, reading: Reading) -> Change:
    """A reading as a tag change; InvalidEvent naming the node for a bad status or no timestamp."""
    node = mapping.nodes.get(reading.tag, "?")
    where = f"{mapping.source}#{reading.tag} ({node})"
    if not reading.status.startswith("Good"):
        raise InvalidEvent([Issue(where, "opcua-status", f"node reported {reading.status}")])
    at = reading.source_time or reading.server_time
    if at is None:
        raise InvalidEvent([Issue(where, "opcua-timestamp", "data change has no source or server time")])
    return Change(reading.tag, reading.value, to_millis(at))


def derive(mapping: OpcUaMapping, tags: MutableMapping[str, Any], readings: Sequence[Reading]) -> Derived:
    """Apply readings to the machine's tags and derive events by its rules; unusable readings
    become issues (and leave the tag as it was)."""
    changes: list[Change] = []
    issues: list[Issue] = []
    for reading in readings:
        try:
            changes.append(to_change(mapping, reading))
        except InvalidEvent as error:
            issues.extend(error.issues)
    derived = apply_changes(mapping.rules, tags, changes, Scope(mapping.source, mapping.key))
    derived.issues[:0] = issues
    return derived


def write_target(mapping: OpcUaMapping, command: Command) -> tuple[str, Any]:
    """The node id and value of a ``write`` command {tag or node, value}; InvalidEvent if unclear."""
    payload = command.payload
    node = payload.get("node") or mapping.nodes.get(str(payload.get("tag")))
    if command.name != "write" or not node or "value" not in payload:
        raise InvalidEvent([Issue(f"command {command.name}", "opcua-command",
                                  "expected write with a known tag (or a node id) and a value")])
    return str(node), payload["value"]
