"""Declared rules that turn machine signals into business events; shared by Sparkplug B and OPC UA.

A machine publishes tags (Sparkplug metrics, OPC UA node values). Rules name the tags that matter:

- ``CounterRule``: a cumulative counter (good parts, kilograms of resin); each increase becomes one
  event carrying the increase, e.g. ``production.goods.completed`` with it as ``yield_quantity``.
- ``FlagRule``: a boolean that rises from false to true (order complete) becomes one event.

Other fields come from constants or from the latest value of another tag (``Tag("Order/Id")``).
Evaluation is pure: tags in, events out, with ids built from the scope, the tag, its source
timestamp and value, so the same signal always gives the same event identity.

Example::

    RuleSet((
        goods_completed("Counters/Good", order=Tag("Order/Id"), item=Tag("Order/Item"),
                        plant="1000", storage_location="FG01"),
        order_completed("Order/Complete", order=Tag("Order/Id"), item=Tag("Order/Item"),
                        plant="1000", storage_location="FG01"),
        component_consumed("Counters/Resin", order=Tag("Order/Id"), item="RM-RESIN",
                           plant="1000", storage_location="RM01", uom="KG"),
    ))
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from plantwire.adapters._common import cloud_event, fit_id, from_millis
from plantwire.domain.amounts import AmountError, amount_from_json, parse_amount
from plantwire.errors import Issue

GOODS_COMPLETED = "production.goods.completed"
COMPONENT_CONSUMED = "production.component.consumed"


@dataclass(frozen=True)
class Tag:
    """A field value taken from the latest value of another tag, e.g. ``Tag("Order/Id")``."""

    name: str


FieldValue = str | int | bool | Tag


@dataclass(frozen=True)
class CounterRule:
    """Each increase of the cumulative counter `counter` becomes one `event_type` event."""

    counter: str
    event_type: str
    quantity_field: str
    id_field: str
    time_field: str
    fields: Mapping[str, FieldValue]
    uom: str = "EA"


@dataclass(frozen=True)
class FlagRule:
    """A rise of the boolean `flag` from false to true becomes one `event_type` event."""

    flag: str
    event_type: str
    id_field: str
    time_field: str
    fields: Mapping[str, FieldValue]
    constants: Mapping[str, Any] = field(default_factory=dict)


Rule = CounterRule | FlagRule


@dataclass(frozen=True)
class RuleSet:
    """The rules of one machine (an edge node or device, an OPC UA server's mapped nodes)."""

    rules: tuple[Rule, ...] = ()

    def watches(self, name: str) -> bool:
        """True when a rule fires on this tag."""
        return any(_trigger(r) == name for r in self.rules)


def _common_fields(order: FieldValue, item: FieldValue, plant: FieldValue,
                   storage_location: FieldValue, lot: FieldValue | None) -> dict[str, FieldValue]:
    fields = {"order_id": order, "item_id": item, "plant": plant, "storage_location": storage_location}
    if lot is not None:
        fields["lot"] = lot
    return fields


def goods_completed(counter: str, *, order: FieldValue, item: FieldValue, plant: FieldValue,
                    storage_location: FieldValue, uom: str = "EA", lot: FieldValue | None = None
                    ) -> CounterRule:
    """A good-parts counter: each increase is a partial `production.goods.completed`."""
    return CounterRule(counter, GOODS_COMPLETED, "yield_quantity", "completion_id", "completed_at",
                       _common_fields(order, item, plant, storage_location, lot), uom)


def component_consumed(counter: str, *, order: FieldValue, item: FieldValue, plant: FieldValue,
                       storage_location: FieldValue, uom: str = "EA", lot: FieldValue | None = None
                       ) -> CounterRule:
    """A material counter: each increase is a `production.component.consumed`."""
    return CounterRule(counter, COMPONENT_CONSUMED, "quantity", "consumption_id", "consumed_at",
                       _common_fields(order, item, plant, storage_location, lot), uom)


def order_completed(flag: str, *, order: FieldValue, item: FieldValue, plant: FieldValue,
                    storage_location: FieldValue, uom: str = "EA") -> FlagRule:
    """An order-complete flag: its rise is the final `production.goods.completed` (no extra yield)."""
    return FlagRule(flag, GOODS_COMPLETED, "completion_id", "completed_at",
                    _common_fields(order, item, plant, storage_location, None),
                    {"final": True, "yield_quantity": {"value": "0", "uom": uom}})


@dataclass(frozen=True)
class Change:
    """A new value of one tag at its source time (milliseconds since the epoch)."""

    name: str
    value: Any
    at_ms: int


@dataclass(frozen=True)
class Scope:
    """Where changes come from: the CloudEvent source and the prefix of event ids."""

    source: str
    key: str


@dataclass
class Derived:
    """What a batch of changes gave: events, and issues for signals that could not be mapped."""

    events: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def _trigger(rule: Rule) -> str:
    return rule.counter if isinstance(rule, CounterRule) else rule.flag


def apply_changes(rules: RuleSet, tags: MutableMapping[str, Any], changes: Sequence[Change],
                  scope: Scope) -> Derived:
    """Record `changes` in `tags` (in order) and derive the events the rules call for.

    A counter's first value, and a value below the last one (a reset), only set the baseline.
    Fields taken from other tags see their values after the whole batch.
    """
    fired: list[tuple[Rule, Change, Any]] = []
    out = Derived()
    for change in changes:
        before = tags.get(change.name)
        tags[change.name] = change.value
        for rule in rules.rules:
            if _trigger(rule) != change.name:
                continue
            if isinstance(rule, CounterRule):
                delta = _increase(before, change, scope, out.issues)
                if delta is not None:
                    fired.append((rule, change, delta))
            elif before is False and change.value is True:
                fired.append((rule, change, None))
    for rule, change, delta in fired:
        event = _event(rule, change, delta, tags, scope, out.issues)
        if event is not None:
            out.events.append(event)
    return out


def _increase(before: Any, change: Change, scope: Scope, issues: list[Issue]) -> Decimal | None:
    new = _number(change.value)
    if new is None:
        issues.append(Issue(f"{scope.source}#{change.name}", "counter-not-numeric",
                            f"counter {change.name!r} has the non-numeric value {change.value!r}"))
        return None
    old = _number(before)
    if old is None or new <= old:
        return None
    return new - old


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:  # the numeric policy: a huge exponent never reaches the subtraction below; a tag's
        # binary float is read from its repr (exactly what the PLC sent), whatever its digits
        return parse_amount(repr(value)) if isinstance(value, float) else amount_from_json(value)
    except AmountError:
        return None


def _event(rule: Rule, change: Change, delta: Decimal | None, tags: Mapping[str, Any], scope: Scope,
           issues: list[Issue]) -> dict[str, Any] | None:
    data: dict[str, Any] = {}
    missing = []
    for name, value in rule.fields.items():
        if isinstance(value, Tag):
            if tags.get(value.name) in (None, ""):
                missing.append(value.name)
                continue
            data[name] = str(tags[value.name])
        else:
            data[name] = value
    suffix = f"{change.value}" if isinstance(rule, CounterRule) else "rise"
    event_id = f"{scope.key}/{change.name}/{change.at_ms}/{suffix}"
    if missing:
        issues.append(Issue(f"{scope.source}#{change.name}", "missing-tag",
                            f"rule on {change.name!r} needs {', '.join(map(repr, missing))}, which has no "
                            f"value yet; event {event_id} (delta {delta}) was not made"))
        return None
    at = from_millis(change.at_ms)
    data[rule.id_field] = fit_id(event_id)
    data[rule.time_field] = at.isoformat()
    if isinstance(rule, CounterRule):
        data[rule.quantity_field] = {"value": str(delta), "uom": rule.uom}
    else:
        data.update(rule.constants)
    plant = data.get("plant")
    return cloud_event(scope.source, event_id, rule.event_type, data, at,
                       plant if isinstance(plant, str) else None)
