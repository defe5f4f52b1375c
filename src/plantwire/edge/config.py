"""The edge's sources, declared in a TOML file (`plantwire edge --config FILE`), parsed purely.

Three kinds of table, each repeatable, each parsed into the adapter's own settings and mapping::

    [[mqtt]]        broker, client id, [[mqtt.topics]] as the MQTT adapter's TopicMapping declares them
    [[sparkplug]]   broker, groups, [[sparkplug.nodes]] (a node pattern and its [[...rules]])
    [[opcua]]       endpoint, [opcua.nodes] (tag name = node id) and [[opcua.rules]]

Rules are ``kind = "goods_completed" | "order_completed" | "component_consumed"``, the trigger tag
(``counter`` or ``flag``) and fields given as constants or ``{tag = "Order/Id"}``. Every table takes
an optional ``name`` and ``priority`` (high, normal, low: the outbox priority of all its events).
Anything wrong raises ConfigurationError naming the file, the table and the key. docs/edge.md has
a full example.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from plantwire.adapters._mqtt import BrokerSettings
from plantwire.adapters._rules import (
    CounterRule,
    FieldValue,
    Rule,
    RuleSet,
    Tag,
    component_consumed,
    goods_completed,
    order_completed,
)
from plantwire.adapters.mqtt.rules import MqttMapping, TopicMapping
from plantwire.adapters.opcua.rules import OpcUaMapping, OpcUaSettings
from plantwire.adapters.sparkplug.rules import SparkplugMapping
from plantwire.domain.catalog import CATALOG
from plantwire.edge.settings import PRIORITY_NAMES
from plantwire.errors import ConfigurationError

T = TypeVar("T")
KINDS = ("mqtt", "sparkplug", "opcua")
PRIORITIES = {name: level for level, name in PRIORITY_NAMES.items()}
NODE_ID = re.compile(r"(ns=\d+;|nsu=[^;]+;)?[isgb]=.+")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
BROKER_KEYS = {"host", "port", "client_id", "username", "password", "password_env", "keepalive", "timeout"}
RULE_MAKERS: dict[str, tuple[str, Callable[..., Rule], frozenset[str]]] = {
    "goods_completed": ("counter", goods_completed, frozenset({"uom", "lot"})),
    "component_consumed": ("counter", component_consumed, frozenset({"uom", "lot"})),
    "order_completed": ("flag", order_completed, frozenset({"uom"})),
}
RULE_FIELDS = ("order", "item", "plant", "storage_location")


@dataclass(frozen=True)
class MqttSourceConfig:
    """One MQTT JSON source: the broker session and its topic mappings."""

    name: str
    broker: BrokerSettings
    mapping: MqttMapping
    priority: int | None = None
    kind: str = "mqtt"


@dataclass(frozen=True)
class SparkplugSourceConfig:
    """One Sparkplug B host application: the broker session, groups, and rules per node or device."""

    name: str
    broker: BrokerSettings
    mapping: SparkplugMapping
    priority: int | None = None
    kind: str = "sparkplug"


@dataclass(frozen=True)
class OpcUaSourceConfig:
    """One OPC UA machine: the server, the watched nodes and the rules over them."""

    name: str
    settings: OpcUaSettings
    mapping: OpcUaMapping
    priority: int | None = None
    kind: str = "opcua"


SourceConfig = MqttSourceConfig | SparkplugSourceConfig | OpcUaSourceConfig


@dataclass(frozen=True)
class EdgeConfig:
    """Every source the agent runs, in file order."""

    sources: tuple[SourceConfig, ...] = ()
    path: str | None = None


class Table:
    """One TOML table being read: knows where it is, so each error names file, table and key."""

    def __init__(self, data: Any, where: str, file: str, env: Mapping[str, str]) -> None:
        if not isinstance(data, dict):
            raise ConfigurationError(f"{file}: {where} must be a table, not {_kind(data)}")
        self.data, self.where, self.file, self.env = data, where, file, env
        self.used: set[str] = set()

    def error(self, key: str | None, message: str) -> ConfigurationError:
        """An error at `key` of this table."""
        at = f"{self.where}, key {key!r}" if key else self.where
        return ConfigurationError(f"{self.file}: {at}: {message}")

    def get(self, key: str, kind: type[T] | tuple[type, ...], default: Any = None,
            required: bool = False) -> Any:
        """The value of `key`, checked to be of `kind` (bool is never an int here)."""
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.error(key, "is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(_type_name(k) for k in kinds)
            raise self.error(key, f"must be {names}, not {_kind(value)} {value!r}")
        return value

    def text(self, key: str, default: str | None = None, required: bool = False) -> Any:
        """A non-empty string."""
        value = self.get(key, str, default, required)
        if value is not None and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """A list of non-empty strings."""
        value = self.get(key, list, None)
        if value is None:
            return default
        if not value or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, f"must be a non-empty list of non-empty strings, not {value!r}")
        return tuple(value)

    def positive(self, key: str, kind: type[T], default: T) -> T:
        """A number above zero."""
        value = self.get(key, (int, float) if kind is float else kind, default)
        if value <= 0:
            raise self.error(key, f"must be above 0, not {value!r}")
        return kind(value)  # type: ignore[call-arg]

    def mapping(self, key: str, required: bool = False) -> dict[str, Any]:
        """A sub-table as a plain dict."""
        return dict(self.get(key, dict, {}, required))

    def tables(self, key: str, required: bool = False) -> list[Table]:
        """An array of tables ([[parent.key]]), each as a Table."""
        value = self.get(key, list, [], required)
        if required and not value:
            raise self.error(key, "needs at least one entry")
        return [Table(item, f"{self.where} > {key} #{i}", self.file, self.env)
                for i, item in enumerate(value, 1)]

    def done(self) -> None:
        """Refuse keys nobody read (typos must not be silently ignored)."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], f"is not a known key here (known: {', '.join(sorted(self.used))})")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    return "an array" if isinstance(value, list) else type(value).__name__


TYPE_NAMES: dict[type, str] = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
                               dict: "a table", list: "an array"}


def _type_name(kind: type) -> str:
    return TYPE_NAMES.get(kind, kind.__name__)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> EdgeConfig:
    """Read and parse a config file (passwords from `env`, default the process environment)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{path}: cannot read the config file: {error}") from error
    return parse_config(text, str(path), os.environ if env is None else env)


def parse_config(text: str, file: str = "<config>", env: Mapping[str, str] | None = None) -> EdgeConfig:
    """Parse TOML text into the sources' settings and mappings (pure: no I/O, nothing connects);
    `password_env` keys are looked up in `env`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{file}: not valid TOML: {error}") from error
    unknown = sorted(set(data) - set(KINDS))
    if unknown:
        raise ConfigurationError(f"{file}: top-level key {unknown[0]!r} is not a source kind "
                                 f"(use [[mqtt]], [[sparkplug]] or [[opcua]])")
    sources: list[SourceConfig] = []
    parsers: dict[str, Callable[[Table, int], SourceConfig]] = {
        "mqtt": _mqtt, "sparkplug": _sparkplug, "opcua": _opcua}
    for kind in KINDS:
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise ConfigurationError(f"{file}: {kind!r} must be an array of tables: write [[{kind}]]")
        for i, entry in enumerate(entries, 1):
            table = Table(entry, f"[[{kind}]] #{i}", file, env or {})
            sources.append(parsers[kind](table, i))
            table.done()
    _check_unique(sources, file)
    return EdgeConfig(tuple(sources), file)


def _check_unique(sources: list[SourceConfig], file: str) -> None:
    names: set[str] = set()
    sessions: dict[tuple[str, int, str], str] = {}
    for source in sources:
        if source.name in names:
            raise ConfigurationError(f"{file}: [[{source.kind}]] {source.name!r}, key 'name': "
                                     "another source has this name")
        names.add(source.name)
        if isinstance(source, MqttSourceConfig | SparkplugSourceConfig):
            b = source.broker
            other = sessions.setdefault((b.host, b.port, b.client_id), source.name)
            if other != source.name:
                raise ConfigurationError(
                    f"{file}: [[{source.kind}]] {source.name!r}, key 'client_id': {b.client_id!r} is "
                    f"already the client id of {other!r} on {b.host}:{b.port} (each needs its own session)")


def _common(table: Table, kind: str, index: int, default_name: str | None = None) -> tuple[str, int | None]:
    name = table.text("name", default_name or f"{kind}-{index}")
    if not NAME.fullmatch(name):
        raise table.error("name", f"{name!r} must be letters, digits, '.', '_' or '-'")
    table.where = f"[[{kind}]] #{index} ({name!r})"
    level = table.text("priority")
    if level is not None and level not in PRIORITIES:
        raise table.error("priority", f"{level!r} must be one of high, normal, low")
    return name, None if level is None else PRIORITIES[level]


def _broker(table: Table, name: str) -> BrokerSettings:
    password = table.text("password")
    env = table.text("password_env")
    if password is not None and env is not None:
        raise table.error("password_env", "give password or password_env, not both")
    if env is not None:
        if env not in table.env:
            raise table.error("password_env", f"the environment variable {env} is not set")
        password = table.env[env]
    port = table.positive("port", int, 1883)
    if port > 65535:
        raise table.error("port", f"{port} is not a TCP port")
    return BrokerSettings(host=table.text("host", "127.0.0.1"), port=port,
                          client_id=table.text("client_id", f"plantwire-edge-{name}"),
                          username=table.text("username"), password=password,
                          keepalive=table.positive("keepalive", int, 30),
                          timeout=table.positive("timeout", float, 10.0))


def _mqtt(table: Table, index: int) -> MqttSourceConfig:
    name, priority = _common(table, "mqtt", index)
    broker = _broker(table, name)
    topics = tuple(_topic(t) for t in table.tables("topics", required=True))
    return MqttSourceConfig(name, broker, MqttMapping(topics), priority)


def _topic(table: Table) -> TopicMapping:
    topic = table.text("topic", required=True)
    levels = topic.split("/")
    if any(("#" in lv and (lv != "#" or i != len(levels) - 1)) or ("+" in lv and lv != "+")
           for i, lv in enumerate(levels)):
        raise table.error("topic", f"{topic!r} is not an MQTT topic filter ('+' is one whole level, "
                                   "'#' only the last)")
    fields = table.mapping("fields", required=True)
    for target, path in fields.items():
        if not isinstance(path, str) or not path:
            raise table.error("fields", f"{target!r} must map to a payload path or template string, "
                                        f"not {path!r}")
    mapping = TopicMapping(
        topic=topic, event_type=_event_type(table), source=table.text("source", required=True),
        id=table.text("id", required=True), fields=fields, constants=table.mapping("constants"),
        optional=frozenset(table.strings("optional")), time=table.text("time"), plant=table.text("plant"))
    unknown = sorted(mapping.optional - set(fields))
    if unknown:
        raise table.error("optional", f"{unknown[0]!r} is not one of the fields")
    table.done()
    return mapping


def _event_type(table: Table) -> str:
    event_type: str = table.text("event_type", required=True)
    if event_type not in CATALOG.types():
        raise table.error("event_type", f"{event_type!r} is not in the contract catalog")
    return event_type


def _sparkplug(table: Table, index: int) -> SparkplugSourceConfig:
    name, priority = _common(table, "sparkplug", index)
    broker = _broker(table, name)
    groups = table.strings("groups", ("+",))
    for group in groups:
        if "/" in group or "#" in group or ("+" in group and group != "+"):
            raise table.error("groups", f"{group!r} must be one group id, or '+' for all")
    nodes: list[tuple[str, RuleSet]] = []
    for node in table.tables("nodes"):
        pattern = node.text("match", required=True)
        if not 2 <= len(pattern.split("/")) <= 3:
            raise node.error("match", f"{pattern!r} must be group/edge_node or group/edge_node/device "
                                      "(shell-style patterns allowed)")
        nodes.append((pattern, RuleSet(tuple(_rule(r) for r in node.tables("rules", required=True)))))
        node.done()
    mapping = SparkplugMapping(groups=groups, rules=tuple(nodes),
                               source_prefix=table.text("source_prefix", "sparkplug"))
    return SparkplugSourceConfig(name, broker, mapping, priority)


def _opcua(table: Table, index: int) -> OpcUaSourceConfig:
    key = table.text("key")
    name, priority = _common(table, "opcua", index, key)
    endpoint = table.text("endpoint", required=True)
    if not endpoint.startswith("opc.tcp://"):
        raise table.error("endpoint", f"{endpoint!r} must start with opc.tcp://")
    settings = OpcUaSettings(endpoint, timeout=table.positive("timeout", float, 4.0),
                             publishing_interval_ms=table.positive("publishing_interval_ms", int, 100),
                             idle_check_s=table.positive("idle_check_s", float, 1.0))
    nodes = table.mapping("nodes", required=True)
    if not nodes:
        raise table.error("nodes", "needs at least one tag = node id")
    for tag, node_id in nodes.items():
        if not isinstance(node_id, str) or not NODE_ID.fullmatch(node_id):
            raise table.error("nodes", f"{tag!r} = {node_id!r} is not an OPC UA node id "
                                       "(e.g. \"ns=2;s=Press7.GoodParts\" or \"ns=2;i=1001\")")
    rule_tables = table.tables("rules")
    rules = RuleSet(tuple(_rule(r) for r in rule_tables))
    for rule_table, rule in zip(rule_tables, rules.rules, strict=True):
        _check_tags(rule_table, rule, nodes)
    mapping = OpcUaMapping(table.text("source", f"opcua/{name}"), key or name, nodes, rules)
    return OpcUaSourceConfig(name, settings, mapping, priority)


def _check_tags(table: Table, rule: Rule, nodes: Mapping[str, str]) -> None:
    key, trigger = ("counter", rule.counter) if isinstance(rule, CounterRule) else ("flag", rule.flag)
    if trigger not in nodes:
        raise table.error(key, f"tag {trigger!r} is not in the [opcua.nodes] map")
    for field_name, value in rule.fields.items():
        if isinstance(value, Tag) and value.name not in nodes:
            key = next((k for k, v in _FIELD_KEYS.items() if v == field_name), field_name)
            raise table.error(key, f"tag {value.name!r} is not in the [opcua.nodes] map")


_FIELD_KEYS = {"order": "order_id", "item": "item_id", "plant": "plant",
               "storage_location": "storage_location", "lot": "lot"}


def _rule(table: Table) -> Rule:
    kind = table.text("kind", required=True)
    if kind not in RULE_MAKERS:
        raise table.error("kind", f"{kind!r} must be one of {', '.join(RULE_MAKERS)}")
    trigger_key, make, extras = RULE_MAKERS[kind]
    trigger = table.text(trigger_key, required=True)
    fields = {key: _field(table, key, required=True) for key in RULE_FIELDS}
    if "lot" in extras and "lot" in table.data:
        fields["lot"] = _field(table, "lot", required=True)
    uom = table.text("uom", "EA")
    table.done()
    rule: Rule = make(trigger, uom=uom, **fields)
    return rule


def _field(table: Table, key: str, required: bool) -> FieldValue:
    value = table.get(key, (str, int, bool, dict), required=required)
    if isinstance(value, dict):
        if set(value) != {"tag"} or not isinstance(value["tag"], str) or not value["tag"]:
            raise table.error(key, f"must be a constant or {{tag = \"Tag/Name\"}}, not {value!r}")
        return Tag(value["tag"])
    return value  # type: ignore[no-any-return]
