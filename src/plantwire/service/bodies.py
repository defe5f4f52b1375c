"""Read an HTTP body into CloudEvent objects: structured, batch or binary mode. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from plantwire.errors import RequestRejected

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
BINARY_ATTRIBUTES = ("id", "source", "type", "specversion", "time", "subject", "dataschema")


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-cased."""
    return (content_type or "").split(";", 1)[0].strip().lower()


MAX_DEPTH = 64
"""How deep a request's JSON may nest. No contract comes near it; orjson reads up to 1024 levels, and
a document that deep would reach Python's recursion limit in whatever walks it next (a repr, a
validator), so it is refused here, once, before anything else looks at it."""


def parse_json(body: bytes) -> Any:
    """JSON from bytes, or a 400 that says where it broke (line, column, byte) or that it nests
    deeper than MAX_DEPTH."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise RequestRejected(
                400, "invalid-utf8",
                f"body is not valid UTF-8: byte 0x{body[bad.start]:02x} at offset {bad.start} "
                f"({bad.reason})",
            ) from None
        reason = str(exc.msg)
        if "recursion" in reason.lower() or "depth limit" in reason.lower():
            raise RequestRejected(400, "nesting-too-deep",
                                  f"JSON nests deeper than {MAX_DEPTH} levels") from None
        raise RequestRejected(
            400, "invalid-json",
            f"body is not valid JSON: {reason} at line {exc.lineno} column {exc.colno} "
            f"(byte {exc.pos})",
        ) from None
    if depth(parsed) > MAX_DEPTH:
        raise RequestRejected(400, "nesting-too-deep", f"JSON nests deeper than {MAX_DEPTH} levels")
    return parsed


def depth(value: Any) -> int:
    """How many arrays and objects deep a parsed document nests (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if type(item) is dict else item if type(item) is list else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children
                         if type(child) is dict or type(child) is list)
    return deepest


def read_events(
    content_type: str | None, headers: Mapping[str, str], body: bytes, max_batch: int
) -> tuple[list[Any], bool]:
    """The event objects in a request, and whether it was a batch."""
    media = media_type(content_type)
    if media == STRUCTURED:
        return [parse_json(body)], False
    if media == BATCH:
        events = parse_json(body)
        if not isinstance(events, list):
            raise RequestRejected(400, "batch-not-array",
                                  "a cloudevents-batch+json body must be a JSON array of events")
        if len(events) > max_batch:
            raise RequestRejected(413, "batch-too-large",
                                  f"the batch holds {len(events)} events; at most {max_batch}")
        return events, True
    if "ce-specversion" in headers:
        return [binary_event(media, headers, body)], False
    raise RequestRejected(
        415, "unsupported-media-type",
        f"Content-Type {media or '(none)'!r} is not accepted; send {STRUCTURED}, {BATCH}, "
        "or binary mode (ce-* headers with application/json data)",
    )


def binary_event(media: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """A binary-mode event: attributes from ce-* headers, data from the body."""
    # the HTTP binding percent-encodes header values (space, '"', '%' and non-ASCII)
    event: dict[str, Any] = {k[3:]: unquote(v) for k, v in headers.items() if k.startswith("ce-")}
    event["datacontenttype"] = media or None
    if media and not media.endswith("json"):
        raise RequestRejected(415, "unsupported-datacontenttype",
                              f"binary-mode data must be application/json, got {media or '(none)'!r}")
    event["data"] = parse_json(body)
    return event
