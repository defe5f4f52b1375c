"""Data-quality rules per contract, declared as data (TOML or JSON) and evaluated by pure functions.

A rule file holds ``[[rule]]`` tables (TOML) or ``{"rules": [...]}`` (JSON). Each rule names the
contract it applies to (or ``*``), a data path (``lines[*].item_id``), a kind, a severity (reject,
quarantine, warn) and optionally the plants it applies at. Kinds:

- ``required``: the path must have a value (e.g. a lot at plant 1000);
- ``range``: a number within ``min`` / ``max`` (inclusive);
- ``one_of``: a value among ``values``;
- ``xref``: the id is known: a golden ``xref_kind`` id mapped (from ``system`` when given), or with
  ``ids = "system"`` a ``system`` id that has a cross-reference;
- ``po_line``: the PO at ``path`` has the line at ``line`` (from the ATP read model of POs).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from plantwire.domain.amounts import AmountError, amount_from_json
from plantwire.errors import Issue, RequestRejected
from plantwire.mapping.findings import Finding, Severity, severity, steps, values_at
from plantwire.mapping.xref import NAME

KINDS = ("required", "range", "one_of", "xref", "po_line")


class Lookups(Protocol):
    """What referential rules may ask about the hub's data."""

    def golden_known(self, kind: str, golden: str, system: str | None) -> bool:
        """Whether a golden id is mapped (from a given system, or any)."""
        ...

    def system_known(self, system: str, kind: str, system_id: str) -> bool:
        """Whether a system id has a cross-reference."""
        ...

    def po_lines(self, po_number: str) -> set[str] | None:
        """The line numbers of a known PO, or None when the PO is not known."""
        ...


@dataclass(frozen=True)
class Rule:
    """One data-quality rule."""

    id: str
    contract: str
    kind: str
    path: str
    severity: Severity
    plants: frozenset[str] = frozenset()
    min: Decimal | None = None
    max: Decimal | None = None
    values: frozenset[str] = frozenset()
    xref_kind: str | None = None
    system: str | None = None
    ids: str = "golden"
    line: str | None = None
    message: str | None = None


def parse_text(text: str, fmt: str) -> list[Rule]:
    """Rules from the text of a TOML or JSON rule file."""
    try:
        doc: Any = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as bad:
        raise RequestRejected(422, "dq-file", f"rule file is not valid {fmt.upper()}: {bad}") from None
    if not isinstance(doc, dict):
        raise RequestRejected(422, "dq-file", "a rule file is an object with a 'rule' or 'rules' list")
    return parse_rules(doc.get("rule", doc.get("rules", [])))


def parse_rules(raw: Any) -> list[Rule]:
    """Rules from their JSON shape; a bad rule is refused with its index and field."""
    if not isinstance(raw, list):
        raise RequestRejected(422, "dq-file", "'rules' must be a list of rule objects", "$.rules")
    rules, ids = [], set()
    for i, item in enumerate(raw):
        try:
            rule = _rule(item)
        except (ValueError, TypeError, KeyError) as bad:
            raise RequestRejected(422, "dq-rule", f"rule #{i}: {bad}", f"$.rules[{i}]") from None
        if rule.id in ids:
            raise RequestRejected(422, "dq-rule", f"rule id {rule.id!r} is declared twice", f"$.rules[{i}]")
        ids.add(rule.id)
        rules.append(rule)
    return rules


def _rule(item: Any) -> Rule:
    if not isinstance(item, dict):
        raise TypeError("a rule must be an object")
    unknown = set(item) - set(Rule.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}")
    if item.get("kind") not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {item.get('kind')!r}")
    steps(item["path"])
    if item.get("line") is not None:
        steps(item["line"])
    rule = Rule(
        id=str(item["id"]), contract=str(item["contract"]), kind=item["kind"], path=item["path"],
        severity=severity(item.get("severity", "reject")),
        plants=frozenset(map(str, item.get("plants", []))), min=_dec(item.get("min")),
        max=_dec(item.get("max")), values=frozenset(map(str, item.get("values", []))),
        xref_kind=item.get("xref_kind"), system=item.get("system"), ids=item.get("ids", "golden"),
        line=item.get("line"), message=item.get("message"))
    _check_kind(rule)
    return rule


def _check_kind(rule: Rule) -> None:
    if not NAME.match(rule.id):
        raise ValueError(f"id {rule.id!r} must be lowercase letters, digits, _ . -")
    if rule.kind == "range" and rule.min is None and rule.max is None:
        raise ValueError("a range rule needs min or max")
    if rule.kind == "one_of" and not rule.values:
        raise ValueError("a one_of rule needs values")
    if rule.kind == "xref" and (rule.xref_kind is None or rule.ids not in ("golden", "system")
                                or (rule.ids == "system" and rule.system is None)):
        raise ValueError("an xref rule needs xref_kind, and system when ids = 'system'")
    if rule.kind == "po_line" and rule.line is None:
        raise ValueError("a po_line rule needs line (the path of the PO line number)")


def _dec(value: Any) -> Decimal | None:
    """A rule bound by the numeric policy (an AmountError is a ValueError: the rule is refused)."""
    return None if value is None else amount_from_json(value)


def rule_dict(rule: Rule) -> dict[str, Any]:
    """A rule as JSON (what is stored and shown); defaults left out."""
    out: dict[str, Any] = {}
    for name, spec in Rule.__dataclass_fields__.items():
        value = getattr(rule, name)
        if value == spec.default and name not in ("severity",):
            continue
        out[name] = sorted(value) if isinstance(value, frozenset) else str(value) \
            if isinstance(value, Decimal) else value
    return out


# -- evaluation (pure) -------------------------------------------------------------------------------
def evaluate(rules: Sequence[Rule], type_: str, data: Mapping[str, Any], plant: str | None,
             lookups: Lookups) -> list[Finding]:
    """Every finding of the rules that apply to an event of this type at this plant."""
    out: list[Finding] = []
    for rule in rules:
        if rule.contract not in (type_, "*") or (rule.plants and plant not in rule.plants):
            continue
        out.extend(Finding(rule.severity, issue) for issue in _judge(rule, data, plant, lookups))
    return out


def _judge(rule: Rule, data: Mapping[str, Any], plant: str | None, lookups: Lookups) -> Iterator[Issue]:
    if rule.kind == "po_line":
        yield from _po_lines(rule, data, lookups)
        return
    for path, value in values_at(data, rule.path):
        problem = _problem(rule, value, plant, lookups)
        if problem is not None:
            yield Issue(path, rule.id, rule.message or f"{path}: {problem}")


def _problem(rule: Rule, value: Any, plant: str | None, lookups: Lookups) -> str | None:
    if value is None or value == "":
        if rule.kind == "required":
            return "is required" + (f" at plant {plant}" if rule.plants else "")
        return None
    if rule.kind == "range":
        return _out_of_range(rule, value)
    if rule.kind == "one_of":
        return None if str(value) in rule.values else f"{value!r} is not one of {sorted(rule.values)}"
    if rule.kind == "xref":
        return _unknown_id(rule, str(value), lookups)
    return None


def _out_of_range(rule: Rule, value: Any) -> str | None:
    try:  # bounded before any comparison: a huge exponent must not reach Decimal arithmetic
        number = amount_from_json(value)
    except AmountError as error:
        return f"{str(value)[:40]!r} is not a number within the policy: {error}"
    if (rule.min is not None and number < rule.min) or (rule.max is not None and number > rule.max):
        return f"{number} is outside [{rule.min if rule.min is not None else '-inf'}, " \
               f"{rule.max if rule.max is not None else 'inf'}]"
    return None


def _unknown_id(rule: Rule, value: str, lookups: Lookups) -> str | None:
    kind = rule.xref_kind or ""
    if rule.ids == "system":
        assert rule.system is not None
        if lookups.system_known(rule.system, kind, value):
            return None
        return f"unknown {rule.system} {kind} id {value!r}: no cross-reference from system {rule.system}"
    if lookups.golden_known(kind, value, rule.system):
        return None
    mapped = f"mapped from system {rule.system}" if rule.system else "mapped from any system"
    return f"unknown {kind} {value!r}: no cross-reference {mapped}"


def _po_lines(rule: Rule, data: Mapping[str, Any], lookups: Lookups) -> Iterator[Issue]:
    assert rule.line is not None
    for po_path, po in values_at(data, rule.path):
        if po is None:
            continue
        lines = lookups.po_lines(str(po))
        if lines is None:
            yield Issue(po_path, rule.id, rule.message or f"{po_path}: purchase order {po!r} is not known")
            continue
        for line_path, line in values_at(data, rule.line):
            if line is not None and str(line) not in lines:
                yield Issue(line_path, rule.id,
                            rule.message or f"{line_path}: purchase order {po!r} has no line {line}")
