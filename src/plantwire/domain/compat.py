"""Backward-compatibility check between two exported sets of contract JSON Schemas.

A new set is backward compatible with an old one when every document valid under an old contract
schema is still valid under the new schema of the same file, so consumers keep accepting what
senders already send. The check is structural and conservative: where it cannot prove that a new
keyword accepts everything the old one did (a changed regex, an added `not`), it reports it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["RULES", "Incompatibility", "check_compatible"]

RULES = (
    "contract-removed",
    "field-removed",
    "field-now-required",
    "type-narrowed",
    "enum-narrowed",
    "constraint-narrowed",
    "additional-properties-narrowed",
)
"""Every rule an incompatibility can name."""

Schema = dict[str, Any]

# Keywords we cannot reason about: any change to them in the new schema is reported.
_OPAQUE = ("not", "if", "then", "else", "dependentRequired", "dependentSchemas",
           "patternProperties", "propertyNames", "contains", "unevaluatedProperties",
           "unevaluatedItems")
_LOWER_LIMITS = ("minLength", "minItems", "minProperties")
_UPPER_LIMITS = ("maxLength", "maxItems", "maxProperties")


@dataclass(frozen=True)
class Incompatibility:
    """One way a new contract schema refuses documents its old schema accepted."""

    contract: str
    path: str
    rule: str
    message: str


@dataclass(frozen=True)
class _Problem:
    path: str
    rule: str
    message: str


def check_compatible(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[Incompatibility]:
    """Every backward incompatibility of `new` against `old`, by contract file, in schema order."""
    found: dict[Incompatibility, None] = {}
    for name in sorted(old):
        if name not in new:
            message = f"contract {name} was removed; senders still emit it"
            found[Incompatibility(name, "$", "contract-removed", message)] = None
            continue
        comparison = _Comparison(dict(old[name]), dict(new[name]))
        for problem in comparison.compare(old[name], new[name], "$"):
            found[Incompatibility(name, problem.path, problem.rule, problem.message)] = None
    return list(found)


def _pointer(root: Schema, ref: str) -> Any:
    """The node a local `#/...` reference points at, or None when it cannot be followed."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _as_schema(node: Any) -> Schema | None:
    """A schema node as a dict; None for the `false` schema that accepts nothing."""
    if node is False:
        return None
    if node is True or not isinstance(node, Mapping):
        return {}
    return dict(node)


def _resolve(root: Schema, node: Any) -> tuple[Schema | None, str | None]:
    """Follow local `$ref`s (siblings kept), returning the node and the first ref followed."""
    schema = _as_schema(node)
    first: str | None = None
    seen: set[str] = set()
    while schema is not None and isinstance(schema.get("$ref"), str):
        ref = schema.pop("$ref")
        if ref in seen:  # a ref that only points back at itself constrains nothing
            break
        seen.add(ref)
        first = first or ref
        target = _as_schema(_pointer(root, ref))
        if target is None:
            return None, first
        schema = {**target, **schema}
    if schema is not None and "allOf" in schema:
        parts = schema.pop("allOf")
        for part in parts if isinstance(parts, list) else []:
            resolved, _ = _resolve(root, part)
            if resolved is None:
                return None, first
            schema = {**resolved, **schema}
    return schema, first


def _types(schema: Schema) -> set[str] | None:
    """The JSON types a schema allows, None when it does not say."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {str(t) for t in declared}
    values = _enum(schema)
    if values is not None:
        return {_json_type(v) for v in values}
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _covered(json_type: str, accepted: set[str]) -> bool:
    return json_type in accepted or (json_type == "integer" and "number" in accepted)


def _enum(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _branches(schema: Schema) -> list[Any] | None:
    """The alternatives of an anyOf/oneOf node, each carrying the node's other keywords."""
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if isinstance(options, list):
            base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return [{**base, **option} if isinstance(option, Mapping) else option
                    for option in options]
    return None


def _split_types(schema: Schema) -> list[Any] | None:
    """A node allowing several types as one node per type, so each can match its own branch."""
    declared = schema.get("type")
    if isinstance(declared, list) and len(declared) > 1 and _enum(schema) is None:
        return [{**schema, "type": t} for t in declared]
    return None


def _show(types: set[str] | None) -> str:
    return "any type" if types is None else ", ".join(sorted(types))


def _bound(schema: Schema, inclusive: str, exclusive: str) -> tuple[Decimal, bool] | None:
    """The tighter of a node's inclusive and exclusive limit on one side, as (limit, exclusive)."""
    found: list[tuple[Decimal, bool]] = []
    value, strict = schema.get(inclusive), schema.get(exclusive)
    if isinstance(strict, bool):  # draft 4: exclusiveMinimum is a flag on minimum
        strict, value = (value if strict else None), (None if strict else value)
    for limit, is_exclusive in ((value, False), (strict, True)):
        if isinstance(limit, (int, float)) and not isinstance(limit, bool):
            found.append((Decimal(str(limit)), is_exclusive))
    if not found:
        return None
    lower = inclusive == "minimum"
    return max(found) if lower else min(found, key=lambda b: (b[0], not b[1]))


def _stricter(old: tuple[Decimal, bool] | None, new: tuple[Decimal, bool] | None,
              lower: bool) -> bool:
    if new is None:
        return False
    if old is None:
        return True
    if new[0] != old[0]:
        return new[0] > old[0] if lower else new[0] < old[0]
    return new[1] and not old[1]


def _show_bound(bound: tuple[Decimal, bool] | None, lower: bool) -> str:
    if bound is None:
        return "none"
    sign = (">" if bound[1] else ">=") if lower else ("<" if bound[1] else "<=")
    return f"{sign} {bound[0]}"


def _multiple_narrowed(old: Any, new: Any) -> bool:
    if new is None:
        return False
    if old is None:
        return True
    try:
        return bool(Decimal(str(old)) % Decimal(str(new)) != 0)
    except (InvalidOperation, ArithmeticError):
        return bool(old != new)


class _Comparison:
    """One old/new schema pair: resolves refs on each side and walks them together."""

    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self._old_root = old_root
        self._new_root = new_root
        self._active: set[tuple[str | None, str | None]] = set()

    @contextmanager
    def _visiting(self, key: tuple[str | None, str | None]) -> Iterator[bool]:
        """Yield False when this ref pair is already being compared (a recursive schema)."""
        if key == (None, None):
            yield True
            return
        if key in self._active:
            yield False
            return
        self._active.add(key)
        try:
            yield True
        finally:
            self._active.discard(key)

    def compare(self, old_node: Any, new_node: Any, path: str) -> list[_Problem]:
        """Problems with documents valid under `old_node` that `new_node` refuses."""
        old, old_ref = _resolve(self._old_root, old_node)
        new, new_ref = _resolve(self._new_root, new_node)
        with self._visiting((old_ref, new_ref)) as fresh:
            if not fresh or old is None:
                return []
            if new is None:
                return [_Problem(path, "type-narrowed", "new schema accepts nothing here")]
            old_options = _branches(old) or _split_types(old)
            if old_options is not None:
                return [p for o in old_options for p in self.compare(o, new, path)]
            new_options = _branches(new)
            if new_options is not None:
                return self._best_branch(old, new_options, path)
            return self._compare_node(old, new, path)

    def _best_branch(self, old: Schema, options: list[Any], path: str) -> list[_Problem]:
        """Accept when some new branch accepts `old`; otherwise report the closest branch."""
        old_types = _types(old)
        results: list[tuple[list[_Problem], set[str] | None]] = []
        for option in options:
            problems = self.compare(old, option, path)
            if not problems:
                return []
            resolved, _ = _resolve(self._new_root, option)
            results.append((problems, None if resolved is None else _types(resolved)))
        overlapping = [
            problems for problems, types in results
            if old_types is None or types is None or any(_covered(t, types) for t in old_types)
        ]
        if overlapping:
            return min(overlapping, key=len)
        offered: set[str] = set().union(*(t for _, t in results if t is not None))
        message = f"old schema accepted {_show(old_types)}; new accepts only {_show(offered)}"
        return [_Problem(path, "type-narrowed", message)]

    def _compare_node(self, old: Schema, new: Schema, path: str) -> list[_Problem]:
        problems = _type_problems(old, new, path)
        if problems and not _share_a_type(old, new):
            return problems  # nothing in common: deeper differences would only add noise
        problems += _enum_problems(old, new, path)
        problems += _constraint_problems(old, new, path)
        if any(k in new for k in ("properties", "required", "additionalProperties")):
            problems += self._compare_object(old, new, path)
        if any(k in new for k in ("items", "prefixItems")):
            problems += self._compare_array(old, new, path)
        return problems

    def _compare_object(self, old: Schema, new: Schema, path: str) -> list[_Problem]:
        problems: list[_Problem] = []
        old_props: dict[str, Any] = dict(old.get("properties") or {})
        new_props: dict[str, Any] = dict(new.get("properties") or {})
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        for name, old_prop in old_props.items():
            child = f"{path}.{name}"
            if name in new_props:
                problems += self.compare(old_prop, new_props[name], child)
            elif new_extra is False:
                message = f"field '{name}' was removed; documents that carry it are now refused"
                problems.append(_Problem(child, "field-removed", message))
            elif new_extra is not True:
                problems += self.compare(old_prop, new_extra, child)
        old_required = set(old.get("required") or ())
        for name in sorted(set(new.get("required") or ()) - old_required):
            was = "optional" if name in old_props else "absent"
            message = f"field '{name}' was {was} and is now required"
            problems.append(_Problem(f"{path}.{name}", "field-now-required", message))
        for name, new_prop in new_props.items():
            if name not in old_props and old_extra is not False:
                problems += self.compare(old_extra, new_prop, f"{path}.{name}")
        return problems + self._compare_extra(old_extra, new_extra, path)

    def _compare_extra(self, old_extra: Any, new_extra: Any, path: str) -> list[_Problem]:
        """Undeclared properties: refused now where they were accepted before."""
        if old_extra is False or new_extra is True or new_extra == {}:
            return []
        if new_extra is False or old_extra is True or old_extra == {}:
            allowed = "any" if old_extra in (True, {}) else "constrained"
            message = (
                f"undeclared properties were accepted ({allowed}); "
                "now they are refused or constrained"
            )
            return [_Problem(path, "additional-properties-narrowed", message)]
        return self.compare(old_extra, new_extra, f"{path}.*")

    def _compare_array(self, old: Schema, new: Schema, path: str) -> list[_Problem]:
        problems: list[_Problem] = []
        old_prefix: list[Any] = list(old.get("prefixItems") or [])
        new_prefix: list[Any] = list(new.get("prefixItems") or [])
        old_items = old.get("items", True)
        for index, new_item in enumerate(new_prefix):
            old_item = old_prefix[index] if index < len(old_prefix) else old_items
            problems += self.compare(old_item, new_item, f"{path}[{index}]")
        if "items" in new:
            for index in range(len(new_prefix), len(old_prefix)):
                problems += self.compare(old_prefix[index], new["items"], f"{path}[{index}]")
            problems += self.compare(old_items, new["items"], f"{path}[]")
        return problems


def _type_problems(old: Schema, new: Schema, path: str) -> list[_Problem]:
    old_types, new_types = _types(old), _types(new)
    if new_types is None:
        return []
    if old_types is not None and all(_covered(t, new_types) for t in old_types):
        return []
    message = f"old schema accepted {_show(old_types)}; new accepts only {_show(new_types)}"
    return [_Problem(path, "type-narrowed", message)]


def _share_a_type(old: Schema, new: Schema) -> bool:
    old_types, new_types = _types(old), _types(new)
    if old_types is None or new_types is None:
        return True
    return any(_covered(t, new_types) for t in old_types)


def _enum_problems(old: Schema, new: Schema, path: str) -> list[_Problem]:
    old_values, new_values = _enum(old), _enum(new)
    if new_values is None:
        return []
    if old_values is None:
        message = f"values are now restricted to {new_values!r}"
        return [_Problem(path, "enum-narrowed", message)]
    removed = [v for v in old_values if not any(_same_value(v, w) for w in new_values)]
    if not removed:
        return []
    message = f"values {removed!r} are no longer accepted (old {old_values!r}, new {new_values!r})"
    return [_Problem(path, "enum-narrowed", message)]


def _constraint_problems(old: Schema, new: Schema, path: str) -> list[_Problem]:
    messages: list[str] = []
    for lower, (inclusive, exclusive) in ((True, ("minimum", "exclusiveMinimum")),
                                          (False, ("maximum", "exclusiveMaximum"))):
        old_bound, new_bound = _bound(old, inclusive, exclusive), _bound(new, inclusive, exclusive)
        if _stricter(old_bound, new_bound, lower):
            messages.append(f"{'lower' if lower else 'upper'} bound tightened from "
                            f"{_show_bound(old_bound, lower)} to {_show_bound(new_bound, lower)}")
    for keyword in _LOWER_LIMITS:
        if new.get(keyword, 0) > old.get(keyword, 0):
            messages.append(f"{keyword} raised from {old.get(keyword)} to {new[keyword]}")
    for keyword in _UPPER_LIMITS:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            messages.append(f"{keyword} lowered from {old.get(keyword)} to {new[keyword]}")
    if _multiple_narrowed(old.get("multipleOf"), new.get("multipleOf")):
        messages.append(f"multipleOf changed from {old.get('multipleOf')} to {new['multipleOf']}")
    for keyword in ("pattern", "format", *_OPAQUE):
        if keyword in new and new[keyword] != old.get(keyword):
            messages.append(f"{keyword} changed from {old.get(keyword)!r} to {new[keyword]!r}")
    if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
        messages.append("items must now be unique")
    return [_Problem(path, "constraint-narrowed", message) for message in messages]
