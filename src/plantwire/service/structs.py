"""msgspec mirrors of the pydantic contracts, for the ingest hot path (service/fastpath.py).

Each contract's data model is translated, field by field, into a msgspec Struct that accepts a
subset of what the pydantic model accepts: the same names, types and constraints, but stricter
where the two libraries differ (amounts and timestamps must be JSON strings, for example). What
pydantic runs as Python (amount bounds, field and model validators) runs here after decoding, on
the struct, which has the same attribute names. A contract that uses anything this translation
does not know is simply not mirrored: its events always take pydantic's path.

The pydantic model stays the contract. tests/unit/test_fastpath.py proves, for generated and
mutated events, that whatever a mirror accepts pydantic accepts with the same canonical data.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Union

import annotated_types as at
import msgspec
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.fields import FieldInfo

from plantwire.domain.amounts import parse_amount
from plantwire.domain.quantities import READS_AMOUNT_TEXT
from plantwire.service.patterns import pattern_test, python_pattern, same_in_python


class NotMirrored(Exception):
    """The contract uses something the mirror cannot reproduce exactly."""


class Diverged(Exception):
    """A value the mirror decoded is one it cannot vouch for; pydantic's path decides."""


AWARE_TIME = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
              r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])\Z")
"""An RFC 3339 timestamp with an offset and at most microseconds (pydantic truncates beyond)."""

_BOUNDS = {at.Gt: "gt", at.Ge: "ge", at.Lt: "lt", at.Le: "le"}
_OK_CONFIG = {"extra", "frozen", "title"}

Convert = Callable[[Any], Any]
"""Completes one decoded value (an amount's text becomes its Decimal, a struct is checked as its
model would be); raises Diverged when the value is one pydantic's path must decide on."""


@dataclasses.dataclass
class Mirror:
    """A contract's struct type and the conversion that completes a decoded instance."""

    struct: type[msgspec.Struct]
    convert: Convert


class Translator:
    """Translates pydantic models into msgspec structs, each model once."""

    def __init__(self) -> None:
        self._done: dict[type[BaseModel], Mirror] = {}

    def mirror(self, model: type[BaseModel]) -> Mirror:
        """The mirror of a model; raises NotMirrored."""
        if model not in self._done:
            self._done[model] = self._translate(model)
        return self._done[model]

    def _translate(self, model: type[BaseModel]) -> Mirror:
        config = model.model_config
        if not set(config) <= _OK_CONFIG or config.get("extra") != "forbid":
            raise NotMirrored(f"{model.__name__}: model config {dict(config)}")
        fields: list[tuple[str, Any, Any]] = []
        steps: list[tuple[str, Step]] = []
        for name, info in model.model_fields.items():
            if info.alias not in (None, name) or info.validation_alias is not None:
                raise NotMirrored(f"{model.__name__}.{name}: alias")
            if not name.isidentifier():
                raise NotMirrored(f"{model.__name__}: field name {name!r}")
            kind, step = self._type(info.annotation, list(info.metadata), f"{model.__name__}.{name}")
            fields.append((name, kind, _default(info)))
            if step is not None:
                steps.append((name, step))
        # gc=False: a decoded event is a tree (no cycles), so the collector need not track it
        struct = msgspec.defstruct(f"{model.__name__}Mirror", fields, kw_only=True,
                                   forbid_unknown_fields=True, gc=False)
        return Mirror(struct, _model(steps, _validators(model)))

    def _type(self, hint: Any, metadata: list[Any], where: str) -> tuple[Any, Step | None]:
        """The msgspec type for a pydantic annotation with its metadata, and its value check."""
        origin = typing.get_origin(hint)
        if origin is Annotated:
            inner, *more = typing.get_args(hint)
            return self._type(inner, [*metadata, *_expand(more)], where)
        if origin in (Union, types.UnionType):
            args = typing.get_args(hint)
            if len(args) != 2 or type(None) not in args:
                raise NotMirrored(f"{where}: union {hint}")
            inner = next(a for a in args if a is not type(None))
            kind, step = self._type(inner, metadata, where)
            return kind | None, (None if step is None else _optional(step))
        if origin is list:
            (item,) = typing.get_args(hint)
            kind, step = self._type(item, [], where)
            meta = _meta(metadata, ("min_length", "max_length"), where)
            out = Annotated[list[kind], meta] if meta else list[kind]  # type: ignore[valid-type]
            return out, (None if step is None else _each(step))
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            if metadata:
                raise NotMirrored(f"{where}: constraints on a model")
            mirror = self.mirror(hint)
            return mirror.struct, Step(mirror.convert, in_place=True)
        return _scalar(hint, metadata, where)


def _scalar(hint: Any, metadata: list[Any], where: str) -> tuple[Any, Step | None]:
    if hint is Decimal:
        return _decimal(metadata, where)
    if hint is AwareDatetime:
        if metadata:
            raise NotMirrored(f"{where}: constraints on a timestamp")
        return Annotated[str, msgspec.Meta(pattern=AWARE_TIME)], Step(_aware_time)
    if hint is str:
        meta = _meta(metadata, ("min_length", "max_length", "pattern"), where)
        test = None if meta is None or meta.pattern is None else pattern_test(meta.pattern)
        if test is None:
            if meta is not None and meta.pattern is not None and not same_in_python(meta.pattern):
                raise NotMirrored(f"{where}: pattern {meta.pattern!r} may mean something else in Python")
            return _annotated(str, meta), None
        assert meta is not None
        lengths = {k: getattr(meta, k) for k in ("min_length", "max_length") if getattr(meta, k) is not None}
        return _annotated(str, msgspec.Meta(**lengths) if lengths else None), Step(None, test=test)
    if hint is int:
        return _annotated(int, _meta(metadata, ("gt", "ge", "lt", "le"), where)), None
    if hint in (bool, date) or (isinstance(hint, type) and issubclass(hint, Enum)):
        if metadata:
            raise NotMirrored(f"{where}: constraints on {hint}")
        return hint, None
    raise NotMirrored(f"{where}: type {hint}")


def _annotated(kind: Any, meta: msgspec.Meta | None) -> Any:
    return kind if meta is None else Annotated[kind, meta]


def _expand(metadata: list[Any]) -> list[Any]:
    """Annotated metadata with Field(...) objects opened into their constraints."""
    out: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            if not item.is_required():
                raise NotMirrored("a default inside Annotated")
            out.extend(item.metadata)
        else:
            out.append(item)
    return out


def _meta(metadata: list[Any], allowed: tuple[str, ...], where: str) -> msgspec.Meta | None:
    """The constraints as msgspec.Meta; raises NotMirrored for any other metadata."""
    kwargs: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, WithJsonSchema):
            continue
        if isinstance(item, StringConstraints):
            kwargs.update(_string_constraints(item, where))
        elif isinstance(item, at.MinLen):
            kwargs["min_length"] = item.min_length
        elif isinstance(item, at.MaxLen):
            kwargs["max_length"] = item.max_length
        elif type(item) in _BOUNDS:
            name = _BOUNDS[type(item)]
            kwargs[name] = getattr(item, name)
        elif type(item).__name__ == "_PydanticGeneralMetadata" and set(vars(item)) == {"pattern"}:
            kwargs["pattern"] = item.pattern
        else:
            raise NotMirrored(f"{where}: metadata {item!r}")
    if set(kwargs) - set(allowed):
        raise NotMirrored(f"{where}: constraints {sorted(set(kwargs) - set(allowed))}")
    if "pattern" in kwargs:
        kwargs["pattern"] = python_pattern(kwargs["pattern"])
    return msgspec.Meta(**kwargs) if kwargs else None


def _string_constraints(item: StringConstraints, where: str) -> dict[str, Any]:
    if item.strip_whitespace or item.to_upper or item.to_lower or item.strict or item.ascii_only:
        raise NotMirrored(f"{where}: {item}")
    return {name: getattr(item, name) for name in ("min_length", "max_length", "pattern")
            if getattr(item, name) is not None}


def _decimal(metadata: list[Any], where: str) -> tuple[Any, Step]:
    """An amount: a JSON string read by the numeric policy, then pydantic's own after-validators."""
    after: list[Callable[[Decimal], Decimal]] = []
    bounds: list[tuple[str, Any]] = []
    for item in metadata:
        if isinstance(item, BeforeValidator) and item.func in READS_AMOUNT_TEXT:
            continue  # reads a string by parse_amount, as the reader does; the mirror only takes strings
        if isinstance(item, AfterValidator):
            after.append(item.func)  # type: ignore[arg-type]
        elif type(item) in _BOUNDS:
            name = _BOUNDS[type(item)]
            bounds.append((name, getattr(item, name)))
        elif not isinstance(item, WithJsonSchema):
            raise NotMirrored(f"{where}: amount metadata {item!r}")
    return str, Step(_amount_reader(after, bounds, where))


_COMPARE = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _amount_reader(after: list[Callable[[Decimal], Decimal]], bounds: list[tuple[str, Any]],
                   where: str) -> Convert:
    """parse_amount(text) (the numeric policy; its AmountError, a ValueError, hands the event to
    pydantic's path, which names the rule and path), then each after-validator (which must return
    the value it was given), then each bound: generated as one function, since it runs for every
    amount of every event."""
    names: dict[str, Any] = {"parse_amount": parse_amount, "Diverged": Diverged, "where": where}
    lines = ["def read(text):", "    value = parse_amount(text)"]
    for i, check in enumerate(after):
        names[f"a{i}"] = check
        lines.append(f"    if a{i}(value) is not value: raise Diverged(where)")
    for i, (name, limit) in enumerate(bounds):
        names[f"b{i}"] = limit
        lines.append(f"    if not value {_COMPARE[name]} b{i}: raise Diverged(where)")
    lines.append("    return value")
    exec("\n".join(lines), names)  # noqa: S102 - generated from the field's own constraints
    return names["read"]  # type: ignore[no-any-return]


def _aware_time(text: str) -> datetime:
    """A timestamp the pattern let through, as pydantic reads it (or Diverged)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Diverged(text) from None
    if value.tzinfo is None:
        raise Diverged(text)
    return value


def _default(info: FieldInfo) -> Any:
    if info.is_required():
        return msgspec.NODEFAULT
    if info.default_factory is not None:
        if info.default_factory_takes_validated_data:
            return msgspec.NODEFAULT  # computed from other fields: the mirror needs it sent
        return msgspec.field(default_factory=info.default_factory)  # type: ignore[arg-type]
    if info.default is not None and not isinstance(info.default, bool | int | str):
        raise NotMirrored(f"default {info.default!r}")
    return info.default


@dataclasses.dataclass(frozen=True)
class Step:
    """How one field is completed: `fn` on its value (in place for a struct, else it returns
    the new value), skipped when None (`optional`), on each item of a list (`each`)."""

    fn: Convert | None
    in_place: bool = False
    optional: bool = False
    each: bool = False
    test: str | None = None
    """Instead of `fn`: a Python expression on `v`, true when the value must go to pydantic."""


def _optional(step: Step) -> Step:
    return dataclasses.replace(step, optional=True)


def _each(step: Step) -> Step:
    if step.optional or step.each:
        raise NotMirrored("a list of optional or nested list values")
    return dataclasses.replace(step, each=True)


def _field_lines(name: str, fn: str, step: Step) -> list[str]:
    """Straight-line Python completing one field (generated: this runs for every event)."""
    if step.test is not None:
        test = f"if {step.test}: raise Diverged({name!r})"
        if step.each:
            loop = [f"for v in obj.{name}:", f"    {test}"]
            if step.optional:
                return [f"if obj.{name} is not None:", *(f"    {line}" for line in loop)]
            return loop
        if step.optional:
            return [f"v = obj.{name}", "if v is not None:", f"    {test}"]
        return [f"v = obj.{name}", test]
    if step.each:
        work = [f"for w in v: {fn}(w)"] if step.in_place else [f"obj.{name} = [{fn}(w) for w in v]"]
    else:
        work = [f"{fn}(v)"] if step.in_place else [f"obj.{name} = {fn}(v)"]
    if step.optional:
        return [f"v = obj.{name}", "if v is not None:", *(f"    {line}" for line in work)]
    return [f"v = obj.{name}", *work]


def _model(steps: list[tuple[str, Step]], checks: list[tuple[str, Callable[[Any], Any]]]) -> Convert:
    """One generated function that completes each field, then runs the model's validators (a
    field validator by field name, a model validator as `None`); a validator that returns
    anything but what it was given diverges."""
    names: dict[str, Any] = {"Diverged": Diverged}
    lines = ["def complete(obj):"]
    for i, (name, step) in enumerate(steps):
        names[f"f{i}"] = step.fn
        lines += [f"    {line}" for line in _field_lines(name, f"f{i}", step)]
    for i, (field_name, check) in enumerate(checks):
        names[f"c{i}"] = check
        target = "obj" if field_name is None else f"obj.{field_name}"
        lines.append(f"    if c{i}({target}) is not {target}: raise Diverged({check.__name__!r})")
    lines.append("    return obj")
    exec("\n".join(lines), names)  # noqa: S102 - names are the model's own field names
    return names["complete"]  # type: ignore[no-any-return]


Check = tuple[Any, Callable[[Any], Any]]


def _validators(model: type[BaseModel]) -> list[Check]:
    """The model's after-validators, run on the struct; one that changes a value diverges."""
    decorators = model.__pydantic_decorators__
    if (decorators.validators or decorators.root_validators or decorators.field_serializers
            or decorators.model_serializers or decorators.computed_fields):
        raise NotMirrored(f"{model.__name__}: validators or serializers of another kind")
    out: list[Check] = []
    for dec in decorators.field_validators.values():
        if dec.info.mode != "after" or _takes_info(dec.func, 1):
            raise NotMirrored(f"{model.__name__}.{dec.cls_var_name}: field validator")
        if not set(dec.info.fields) <= set(model.model_fields):
            raise NotMirrored(f"{model.__name__}.{dec.cls_var_name}: validates {dec.info.fields}")
        out.extend((name, dec.func) for name in dec.info.fields)
    for mdec in decorators.model_validators.values():
        if mdec.info.mode != "after" or _takes_info(mdec.func, 1):
            raise NotMirrored(f"{model.__name__}.{mdec.cls_var_name}: model validator")
        out.append((None, mdec.func))
    return out


def _takes_info(func: Any, args: int) -> bool:
    import inspect

    params = [p for p in inspect.signature(func).parameters.values() if p.name != "cls"]
    return len(params) > args
