"""Sparkplug B, read as a host application: topics, payloads, and a state machine per edge node.

Pure and deterministic: bytes and topics in, events, rebirth requests and issues out; no I/O and no
clock. ``SparkplugHost.handle`` keeps, per edge node, the bdSeq of its current birth, its last seq
(0-255, wrapping), the aliases its births declared and the latest value of every metric, and:

- NBIRTH/DBIRTH: (re)declare metrics and aliases; values count as changes (a counter that moved
  while we were not watching reports the difference).
- NDATA/DDATA: resolve aliases, check seq, derive events through the declared rules.
- A seq gap, an unknown alias, data from a node or device that has not been born, or an unreadable
  data payload: ask for a rebirth (one request until the next NBIRTH).
- NDEATH: the node goes offline only if its bdSeq matches the current birth; an older one is stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from plantwire.adapters._rules import Change, Scope, apply_changes
from plantwire.adapters.sparkplug import sparkplug_b_pb2 as pb
from plantwire.adapters.sparkplug.rules import NAMESPACE, SparkplugMapping
from plantwire.errors import InvalidEvent, Issue

NODE_TYPES = {"NBIRTH", "NDEATH", "NDATA", "NCMD"}
DEVICE_TYPES = {"DBIRTH", "DDEATH", "DDATA", "DCMD"}
REBIRTH = "Node Control/Rebirth"
SIGNED_BITS: dict[int, int] = {int(pb.Int8): 8, int(pb.Int16): 16, int(pb.Int32): 32, int(pb.Int64): 64}


@dataclass(frozen=True)
class SparkplugTopic:
    """spBv1.0/group/message_type/edge_node[/device]."""

    group: str
    message_type: str
    edge_node: str
    device: str | None = None


@dataclass(frozen=True)
class RebirthRequest:
    """Ask an edge node to publish its births again (NCMD "Node Control/Rebirth" = true)."""

    group: str
    edge_node: str
    reason: str


@dataclass
class Outcome:
    """What one message gave."""

    events: list[dict[str, Any]] = field(default_factory=list)
    rebirths: list[RebirthRequest] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class NodeState:
    """The host's view of one edge node and its devices."""

    bd_seq: int | None = None
    seq: int | None = None
    online: bool = False
    awaiting_rebirth: bool = False
    aliases: dict[int, tuple[str, int]] = field(default_factory=dict)
    datatypes: dict[tuple[str | None, str], int] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)
    tags: dict[str | None, dict[str, Any]] = field(default_factory=dict)


def parse_topic(topic: str) -> SparkplugTopic:
    """Split a Sparkplug B topic; raise InvalidEvent naming the topic when it is not one."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != NAMESPACE or any(not p for p in parts):
        raise InvalidEvent([Issue(topic, "sparkplug-topic", f"not a {NAMESPACE}/group/type/node topic")])
    kind = parts[2]
    want = 4 if kind in NODE_TYPES else 5 if kind in DEVICE_TYPES else 0
    if len(parts) != want:
        raise InvalidEvent([Issue(topic, "sparkplug-topic", f"unknown message type or shape {kind!r}")])
    return SparkplugTopic(parts[1], kind, parts[3], parts[4] if want == 5 else None)


def decode(topic: str, payload: bytes) -> pb.Payload:
    """Parse a Tahu protobuf payload; raise InvalidEvent naming the topic when it cannot be read."""
    try:
        message: pb.Payload = pb.Payload.FromString(payload)
        return message
    except DecodeError as error:
        raise InvalidEvent([Issue(topic, "sparkplug-protobuf", f"payload is not Sparkplug B: {error}")]
                           ) from error


def metric_value(metric: pb.Payload.Metric, datatype: int) -> Any:
    """The scalar value of a metric, signed integers restored; None when null or not a scalar."""
    if metric.is_null:
        return None
    kind = metric.WhichOneof("value")
    if kind in ("int_value", "long_value"):
        raw = int(getattr(metric, kind))
        bits = SIGNED_BITS.get(datatype)
        if bits is not None:
            raw &= (1 << bits) - 1
            if raw >= 1 << (bits - 1):
                raw -= 1 << bits
        return raw
    if kind in ("float_value", "double_value", "boolean_value", "string_value", "bytes_value"):
        return getattr(metric, kind)
    return None


def rebirth_command(timestamp_ms: int) -> bytes:
    """The NCMD payload that asks an edge node to rebirth."""
    payload = pb.Payload(timestamp=timestamp_ms)
    payload.metrics.add(name=REBIRTH, timestamp=timestamp_ms, datatype=pb.Boolean, boolean_value=True)
    body: bytes = payload.SerializeToString()
    return body


def ncmd_topic(group: str, edge_node: str) -> str:
    """Where commands to an edge node go."""
    return f"{NAMESPACE}/{group}/NCMD/{edge_node}"


class SparkplugHost:
    """The host application's state for every edge node it hears; `handle` one message at a time."""

    def __init__(self, mapping: SparkplugMapping) -> None:
        self.mapping = mapping
        self.nodes: dict[tuple[str, str], NodeState] = {}

    def handle(self, topic: str, payload: bytes) -> Outcome:
        """Apply one message to the state and say what follows from it."""
        out = Outcome()
        try:
            where = parse_topic(topic)
        except InvalidEvent as error:
            out.issues.extend(error.issues)
            return out
        if where.message_type in ("NCMD", "DCMD"):
            out.notes.append(f"{topic}: command, not for a host")
            return out
        node = self.nodes.setdefault((where.group, where.edge_node), NodeState())
        try:
            message = decode(topic, payload)
        except InvalidEvent as error:
            out.issues.extend(error.issues)
            if where.message_type != "NDEATH":
                self._rebirth(node, where, out, "unreadable payload")
            return out
        handler = getattr(self, f"_on_{where.message_type.lower()}")
        handler(node, where, topic, message, out)
        return out

    def _on_nbirth(self, node: NodeState, where: SparkplugTopic, topic: str, msg: pb.Payload,
                   out: Outcome) -> None:
        bd_seq = next((m for m in msg.metrics if m.name == "bdSeq"), None)
        if bd_seq is None:
            out.issues.append(Issue(f"{topic}#bdSeq", "sparkplug-bdseq", "NBIRTH has no bdSeq metric"))
        node.bd_seq = int(metric_value(bd_seq, pb.UInt64)) if bd_seq is not None else None
        node.aliases.clear()
        node.devices.clear()
        node.online, node.awaiting_rebirth = True, False
        node.seq = msg.seq if msg.HasField("seq") and msg.seq <= 255 else None
        if node.seq is None:
            out.issues.append(Issue(f"{topic}#seq", "sparkplug-seq", "NBIRTH seq missing or above 255"))
        self._changes(node, where, topic, msg, out, birth=True)

    def _on_dbirth(self, node: NodeState, where: SparkplugTopic, topic: str, msg: pb.Payload,
                   out: Outcome) -> None:
        if not self._expected(node, where, topic, msg, out):
            return
        assert where.device is not None
        node.devices.add(where.device)
        self._changes(node, where, topic, msg, out, birth=True)

    def _on_ndata(self, node: NodeState, where: SparkplugTopic, topic: str, msg: pb.Payload,
                  out: Outcome) -> None:
        if self._expected(node, where, topic, msg, out):
            self._changes(node, where, topic, msg, out, birth=False)

    _on_ddata = _on_ndata

    def _on_ddeath(self, node: NodeState, where: SparkplugTopic, topic: str, msg: pb.Payload,
                   out: Outcome) -> None:
        if self._expected(node, where, topic, msg, out):
            node.devices.discard(where.device or "")

    def _on_ndeath(self, node: NodeState, where: SparkplugTopic, topic: str, msg: pb.Payload,
                   out: Outcome) -> None:
        metric = next((m for m in msg.metrics if m.name == "bdSeq"), None)
        bd_seq = int(metric_value(metric, pb.UInt64)) if metric is not None else None
        if bd_seq is None or bd_seq != node.bd_seq:
            out.notes.append(f"{topic}: stale NDEATH (bdSeq {bd_seq}, current birth {node.bd_seq}) ignored")
            return
        node.online = False
        node.devices.clear()
        out.notes.append(f"{topic}: edge node offline (bdSeq {bd_seq})")

    def _expected(self, node: NodeState, where: SparkplugTopic, topic: str, msg: pb.Payload,
                  out: Outcome) -> bool:
        """Check that the node (and device) are born and that seq follows on; False: do not use."""
        if not node.online:
            out.issues.append(Issue(topic, "sparkplug-not-born", "message from an edge node with no birth"))
            self._rebirth(node, where, out, "data before birth")
            return False
        if where.device is not None and where.message_type != "DBIRTH" and where.device not in node.devices:
            out.issues.append(Issue(topic, "sparkplug-not-born", f"device {where.device!r} has no DBIRTH"))
            self._rebirth(node, where, out, "device data before its birth")
            return False
        got = msg.seq if msg.HasField("seq") else None
        expected = None if node.seq is None else (node.seq + 1) % 256
        if got is None or got > 255:
            out.issues.append(Issue(f"{topic}#seq", "sparkplug-seq", f"seq missing or above 255: {got}"))
            self._rebirth(node, where, out, "bad seq")
            return True
        if got != expected:
            self._rebirth(node, where, out, f"seq gap: expected {expected}, got {got}")
        node.seq = got
        return True

    def _rebirth(self, node: NodeState, where: SparkplugTopic, out: Outcome, reason: str) -> None:
        out.notes.append(f"{where.group}/{where.edge_node}: {reason}")
        if not node.awaiting_rebirth:
            node.awaiting_rebirth = True
            out.rebirths.append(RebirthRequest(where.group, where.edge_node, reason))

    def _changes(self, node: NodeState, where: SparkplugTopic, topic: str, msg: pb.Payload, out: Outcome,
                 birth: bool) -> None:
        rules = self.mapping.rules_for(where.group, where.edge_node, where.device)
        changes: list[Change] = []
        for metric in msg.metrics:
            name = self._name(node, where, topic, metric, out, birth)
            if name is None:
                continue
            datatype = node.datatypes.get((where.device, name), metric.datatype)
            at = metric.timestamp if metric.HasField("timestamp") else msg.timestamp
            if not at and rules.watches(name):
                out.issues.append(Issue(f"{topic}#{name}", "sparkplug-timestamp", "metric has no timestamp"))
                continue
            changes.append(Change(name, metric_value(metric, datatype), int(at)))
        path = f"{where.group}/{where.edge_node}" + (f"/{where.device}" if where.device else "")
        scope = Scope(f"{self.mapping.source_prefix}/{path}", path)
        derived = apply_changes(rules, node.tags.setdefault(where.device, {}), changes, scope)
        out.events.extend(derived.events)
        out.issues.extend(derived.issues)

    def _name(self, node: NodeState, where: SparkplugTopic, topic: str, metric: pb.Payload.Metric,
              out: Outcome, birth: bool) -> str | None:
        if birth:
            if not metric.name:
                out.issues.append(Issue(topic, "sparkplug-birth", "birth metric without a name"))
                return None
            node.datatypes[(where.device, metric.name)] = metric.datatype
            if metric.HasField("alias"):
                node.aliases[metric.alias] = (metric.name, metric.datatype)
            return metric.name
        if metric.name:
            return metric.name
        if metric.HasField("alias") and metric.alias in node.aliases:
            return node.aliases[metric.alias][0]
        alias = metric.alias if metric.HasField("alias") else None
        out.issues.append(Issue(f"{topic}#alias={alias}", "sparkplug-alias",
                                f"metric alias {alias} was not declared in a birth"))
        self._rebirth(node, where, out, f"unknown alias {alias}")
        return None


def _typed(metric: pb.Payload.Metric, value: Any) -> None:
    if isinstance(value, bool):
        metric.datatype, metric.boolean_value = pb.Boolean, value
    elif isinstance(value, int):
        metric.datatype, metric.long_value = pb.Int64, value & ((1 << 64) - 1)
    elif isinstance(value, float):
        metric.datatype, metric.double_value = pb.Double, value
    else:
        metric.datatype, metric.string_value = pb.String, str(value)


def command_message(name: str, payload: dict[str, Any], timestamp_ms: int) -> tuple[str, bytes]:
    """A canonical command as NCMD/DCMD: ``rebirth`` {group, edge_node} or ``write`` {group,
    edge_node, device?, metrics: {name: value}}; InvalidEvent naming the missing field."""
    missing = [f for f in ("group", "edge_node") if not payload.get(f)]
    if name == "write" and not isinstance(payload.get("metrics"), dict):
        missing.append("metrics")
    if name not in ("rebirth", "write") or missing:
        raise InvalidEvent([Issue(f"command {name}", "sparkplug-command",
                                  f"unknown command or missing {missing}")])
    group, node, device = payload["group"], payload["edge_node"], payload.get("device")
    if name == "rebirth":
        return ncmd_topic(group, node), rebirth_command(timestamp_ms)
    message = pb.Payload(timestamp=timestamp_ms)
    for metric_name, value in payload["metrics"].items():
        _typed(message.metrics.add(name=metric_name, timestamp=timestamp_ms), value)
    topic = f"{NAMESPACE}/{group}/DCMD/{node}/{device}" if device else ncmd_topic(group, node)
    body: bytes = message.SerializeToString()
    return topic, body
