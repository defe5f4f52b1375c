"""MQTT JSON messages to canonical CloudEvents, and commands to messages. Pure: no I/O, no clock."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from plantwire.adapters._common import cloud_event
from plantwire.adapters.mqtt.rules import MqttMapping, TopicMapping
from plantwire.domain.amounts import AmountError, parse_amount
from plantwire.errors import InvalidEvent, Issue
from plantwire.ports import Command

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
TOPIC_LEVEL = re.compile(r"topic\[(\d+)\]")
MISSING = object()


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching with ``+`` (one level) and ``#`` (the rest)."""
    want, have = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have) or (level != "+" and level != have[i]):
            return False
    return len(want) == len(have)


def route_for(mapping: MqttMapping, topic: str) -> TopicMapping:
    """The mapping for a topic; InvalidEvent when none is declared."""
    for route in mapping.topics:
        if topic_matches(route.topic, topic):
            return route
    raise InvalidEvent([Issue(topic, "mqtt-unmapped", "no mapping is declared for this topic")])


def decode_json(topic: str, payload: bytes) -> Any:
    """Parse a JSON payload, numbers with fractions as Decimal by the numeric policy; InvalidEvent
    naming the topic (also for nesting too deep for the parser, and numbers out of the policy)."""
    try:
        return json.loads(payload.decode("utf-8"), parse_float=parse_amount)
    except AmountError as error:
        raise InvalidEvent([Issue(topic, "mqtt-number", f"a number in the payload is outside the numeric "
                                  f"policy: {error} [{error.rule}]")]) from None
    except RecursionError:
        raise InvalidEvent([Issue(topic, "mqtt-json", "payload is nested too deeply to read")]) from None
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidEvent([Issue(topic, "mqtt-json", f"payload is not UTF-8 JSON: {str(error)[:200]}")]
                           ) from None


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted path with list indexes, or MISSING."""
    node = document
    for key, index in STEP.findall(path):
        if key and isinstance(node, dict) and key in node:
            node = node[key]
        elif index and isinstance(node, list) and int(index) < len(node):
            node = node[int(index)]
        else:
            return MISSING
    return MISSING if node is None else node


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def render(template: str, levels: list[str], document: Any, where: str, issues: list[Issue]) -> str:
    """Fill a template's placeholders from topic levels and payload paths; record what is missing."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        level = TOPIC_LEVEL.fullmatch(name)
        if level:
            n = int(level.group(1))
            if n < len(levels):
                return levels[n]
            issues.append(Issue(where, "mqtt-template", f"topic has no level {n}"))
            return ""
        value = lookup(document, name)
        if value is MISSING or isinstance(value, dict | list):
            issues.append(Issue(f"{where} $.{name}", "mqtt-missing-field",
                                f"template field {name!r} is missing"))
            return ""
        return str(_plain(value))
    return PLACEHOLDER.sub(one, template)


def _put(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = _plain(value)


def to_event(route: TopicMapping, topic: str, payload: bytes) -> dict[str, Any]:
    """One message to one CloudEvent; InvalidEvent lists every field that is missing or unreadable."""
    document = decode_json(topic, payload)
    levels = topic.split("/")
    issues: list[Issue] = []
    data: dict[str, Any] = {}
    for target, value in route.constants.items():
        _put(data, target, value)
    for target, path in route.fields.items():
        if "{" in path:  # a template: always a string, e.g. "{order}-{seq}" for a business id
            _put(data, target, render(path, levels, document, topic, issues))
            continue
        value = lookup(document, path)
        if value is MISSING:
            if target not in route.optional:
                issues.append(Issue(f"{topic} $.{path}", "mqtt-missing-field",
                                    f"field {path!r} (for {target}) is missing"))
            continue
        _put(data, target, value)
    source = render(route.source, levels, document, topic, issues)
    event_id = render(route.id, levels, document, topic, issues)
    plant = render(route.plant, levels, document, topic, issues) if route.plant else None
    at = _time(route, document, topic, issues)
    if issues:
        raise InvalidEvent(issues)
    return cloud_event(source, event_id, route.event_type, data, at, plant)


def _time(route: TopicMapping, document: Any, topic: str, issues: list[Issue]) -> datetime | None:
    if route.time is None:
        return None
    raw = lookup(document, route.time)
    try:
        at = datetime.fromisoformat(str(raw)) if raw is not MISSING else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        issues.append(Issue(f"{topic} $.{route.time}", "mqtt-time",
                            f"event time {raw if raw is not MISSING else 'missing'} is not an ISO time "
                            "with a UTC offset"))
    return at


def command_message(topic_template: str, idempotency_key: str, command: Command) -> tuple[str, bytes]:
    """A command as a JSON message: topic from the template over its payload, the key inside."""
    issues: list[Issue] = []
    topic = render(topic_template, [], command.payload, f"command {command.name}", issues)
    if issues:
        raise InvalidEvent(issues)
    body = {"idempotency_key": idempotency_key, "command": command.name, **command.payload}
    return topic, json.dumps(body, sort_keys=True, default=str).encode()
