"""The ingest hot path: a request body decoded and validated in one pass by msgspec.

A structured or batch body is decoded straight into one struct per event: the CloudEvents
attributes, the known extensions and the contract's data mirror (service/structs.py), picked by
`type`. Each event is then completed the way pydantic would (amounts, timestamps, validators) and
becomes the same Pending that validation.validate_event builds.

Anything it cannot vouch for goes back to the path that lists every issue: a body that does not
decode (bad JSON, an unknown type or extension, a wrong field) sends the whole request there, and
an event a completion refuses sends that event. So this path only ever accepts; rejections, and
their messages, come from validation.py. tests/unit/test_fastpath.py proves both paths agree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union

import msgspec
import orjson

from plantwire.domain.catalog import Catalog, Contract
from plantwire.envelope import SPEC_VERSION, Pending, digest
from plantwire.service.bodies import BATCH, STRUCTURED, media_type, read_events
from plantwire.service.strict_json import duplicate_members, mark_ambiguous
from plantwire.service.structs import Convert, Diverged, NotMirrored, Translator
from plantwire.service.validation import (
    CONTROL,
    DEFAULT_CONTRACT_VERSION,
    JSON_MEDIA,
    LIMITS,
    MAX_EXTENSION_TEXT,
    is_time,
)

KNOWN_EXTENSIONS = ("plant", "correlationid", "causationid", "traceparent", "tracestate")
"""Extensions the hot path decodes; an event with any other extension takes the listing path."""

_OPTIONAL_TEXT = ("subject", "dataschema", "partitionkey")
_UNSET: Any = msgspec.UNSET
_CANONICAL = msgspec.json.Encoder(order="sorted")
"""Sorted keys, as Envelope.canonical_bytes writes them with orjson (the bodies are identical)."""


def _text(name: str) -> Any:
    return Annotated[str, msgspec.Meta(max_length=LIMITS.get(name, MAX_EXTENSION_TEXT))]


_EXTENSION = Union[  # noqa: UP007
    Annotated[str, msgspec.Meta(max_length=MAX_EXTENSION_TEXT)],
    Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)],  # orjson, on the other path, reads no more
    bool,
]


class _Shape:
    """One contract's event struct, with what completes it."""

    __slots__ = ("contract", "convert")

    def __init__(self, contract: Contract, convert: Convert) -> None:
        self.contract, self.convert = contract, convert


class FastPath:
    """Decodes request bodies of the mirrored contracts; `read` returns None to decline a body."""

    def __init__(self, catalog: Catalog) -> None:
        translator = Translator()
        self.declined: dict[str, str] = {}
        """Contracts left to pydantic's path, with the reason (e.g. a constraint not mirrored)."""
        self._shapes: dict[type, _Shape] = {}
        structs = []
        for contract in catalog:
            if catalog.versions(contract.type) != [contract.version]:
                continue  # several versions of one type cannot share the `type` tag
            try:
                mirror = translator.mirror(contract.model)
            except NotMirrored as why:
                self.declined[contract.type] = str(why)
                continue
            struct = _event_struct(contract, mirror.struct)
            self._shapes[struct] = _Shape(contract, mirror.convert)
            structs.append(struct)
        self.types = frozenset(shape.contract.type for shape in self._shapes.values())
        one: Any = Union[tuple(structs)] if structs else None  # noqa: UP007
        self._single = msgspec.json.Decoder(one) if structs else None
        self._batch = msgspec.json.Decoder(list[one]) if structs else None

    def read(self, media: str, body: bytes, max_batch: int) -> list[Any] | None:
        """Each event as a Pending, or as its parsed object where validation.py must decide;
        None when the body is not one this path decodes (validation.py then reads all of it)."""
        try:
            if media == BATCH and self._batch is not None:
                events = self._batch.decode(body)
                if len(events) > max_batch:
                    return None
            elif media == STRUCTURED and self._single is not None:
                events = [self._single.decode(body)]
            else:
                return None
        except (ValueError, RecursionError):  # msgspec's errors, bad UTF-8 in a string, deep nesting
            return None  # the other path reads the body again and says precisely what is wrong
        out: list[Any] = []
        parsed: list[Any] | None = None
        for index, event in enumerate(events):
            try:
                out.append(self._pending(event))
            except (Diverged, ArithmeticError, ValueError, TypeError, AssertionError):
                if parsed is None:
                    try:
                        whole = orjson.loads(body)
                    except orjson.JSONDecodeError:
                        return None
                    parsed = whole if media == BATCH else [whole]
                out.append(parsed[index])
        return out

    def _pending(self, event: Any) -> Pending:
        shape = self._shapes[type(event)]
        contract = shape.contract
        version, subject = event.contractversion, event.subject
        schema, key = event.dataschema, event.partitionkey
        if version is _UNSET:
            version = DEFAULT_CONTRACT_VERSION
        if (version != contract.version or not event.id.strip() or not event.source.strip()
                or (subject is not _UNSET and not subject.strip())
                or (schema is not _UNSET and not schema.strip())
                or (key is not _UNSET and not key.strip())
                or any(type(text) is str and CONTROL.search(text) for text in (
                    event.id, event.source, subject, schema, key, event.plant, event.correlationid,
                    event.causationid, event.traceparent, event.tracestate))):
            raise Diverged("attributes")
        time, media = event.time, event.datacontenttype
        if (time is not _UNSET and not is_time(time)) or (
                media is not _UNSET and media != "application/json" and not JSON_MEDIA.match(media)):
            raise Diverged("time or datacontenttype")
        data = shape.convert(event.data)
        if key is _UNSET:
            event.partitionkey = key = str(getattr(data, contract.key_field))
        event.contractversion = version
        body = _CANONICAL.encode(event)
        return Pending(event.source, event.id, contract.type, key, body, digest(body))


def _event_struct(contract: Contract, data: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The struct of a whole structured-mode event of this contract, tagged by its type."""
    fields: list[tuple[str, Any, Any]] = [
        ("specversion", Literal[SPEC_VERSION], msgspec.NODEFAULT),
        ("id", _text("id"), msgspec.NODEFAULT),
        ("source", _text("source"), msgspec.NODEFAULT),
        ("data", data, msgspec.NODEFAULT),
        ("time", str | msgspec.UnsetType, _UNSET),
        ("datacontenttype", str | msgspec.UnsetType, _UNSET),
        ("contractversion", str | msgspec.UnsetType, _UNSET),
        *((name, _text(name) | msgspec.UnsetType, _UNSET) for name in _OPTIONAL_TEXT),
        *((name, _EXTENSION | msgspec.UnsetType, _UNSET) for name in KNOWN_EXTENSIONS),
    ]
    return msgspec.defstruct(f"{contract.model.__name__}Event", fields, kw_only=True, gc=False,
                             forbid_unknown_fields=True, tag_field="type", tag=contract.type)


@functools.cache
def fast_path(catalog: Catalog) -> FastPath:
    """The hot path for a catalog, built once (translating the contracts takes milliseconds)."""
    return FastPath(catalog)


def read_body(catalog: Catalog, content_type: str | None, headers: Mapping[str, str], body: bytes,
              max_batch: int) -> list[Any]:
    """A request body's events: Pendings where the hot path decoded them, parsed objects where
    validation.validate_event must judge them (raises RequestRejected when the body is unreadable)."""
    media = media_type(content_type)
    fast = fast_path(catalog).read(media, body, max_batch)
    events = fast if fast is not None else read_events(content_type, headers, body, max_batch)[0]
    duplicates = duplicate_members(body)
    return mark_ambiguous(events, duplicates, media) if duplicates else events


def mirrored(catalog: Catalog) -> Sequence[str]:
    """The event types the hot path decodes."""
    return sorted(fast_path(catalog).types)
