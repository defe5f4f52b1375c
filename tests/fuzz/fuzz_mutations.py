"""Hypothesis strategies that turn real documents into hostile ones.

Bytes (EDI, XML, CSV, protobuf): one to four mutations of a seed, chosen among byte flips,
truncation, deletion, duplication of a segment (split at the format's terminators), insertion of a
hostile token at a random place, and replacement of a number in the document by a giant or tiny one
(1E999999999, 1E-999999999, 400 digits), which is where decimal overflow used to escape. Some inputs
carry a field of 10^6 characters.

JSON (OData / REST bodies, MQTT payloads): leaves of a seed document replaced by hostile values
(giant numbers as strings, ints and floats, wrong types, long strings, deep nesting) or removed.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import strategies as st

GIANT = ["1E999999999", "1E-999999999", "-1E999999999", "9e9999", "1e-9999", "1e10000", "0E+999999999",
         "9" * 400, "0." + "0" * 400 + "1", "NaN", "Infinity", "-inf", "1_000", "١٢٣", "", "-", ".", "1e",
         "12,5", "3.000-"]
"""Number-shaped texts outside (or at the edge of) the numeric policy."""
TOKENS = [t.encode() for t in GIANT] + [
    b"\x00", b"\xff\xfe", b"\xc3\x28", "é".encode(), b"\r\n", b"'", b"~", b"*", b":", b"+", b"?", b"^",
    b"<", b"&", b"]]>", b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", b"&a;", b"\"", b",",
]
MILLION = 10**6
MAX_INPUT = 4 * MILLION
"""Inputs are cut at 4 MB: the bounds are about what a parser does with its input, not its size."""
NUMBER = re.compile(rb"\d+(?:[.,]\d+)?")


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes], separators: bytes = b"\n") -> bytes:
    """A seed with one to four mutations."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        data = bytearray(_mutate(draw, bytes(data), separators)[:MAX_INPUT])
    return bytes(data)


def _mutate(draw: st.DrawFn, data: bytes, separators: bytes) -> bytes:
    kind = draw(st.sampled_from(["flip", "truncate", "delete", "duplicate", "insert", "number", "number",
                                 "huge"]))
    at = draw(st.integers(0, len(data)))
    if kind == "flip" and data:
        at = min(at, len(data) - 1)
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    if kind == "truncate":
        return data[:at]
    if kind == "delete":
        return data[:at] + data[at + draw(st.integers(1, 64)):]
    if kind == "duplicate":
        return _duplicate(draw, data, separators)
    if kind == "number":
        return _number(draw, data)
    if kind == "huge":  # a field of a million characters, in place of a number or anywhere
        filler = draw(st.sampled_from([b"9", b"A", b"1"]))
        return data[:at] + filler * MILLION + data[at:]
    return data[:at] + draw(st.sampled_from(TOKENS)) + data[at:]


def _duplicate(draw: st.DrawFn, data: bytes, separators: bytes) -> bytes:
    pattern = b"(?<=[" + re.escape(separators) + b"])"
    parts = re.split(pattern, data)
    if len(parts) < 2:
        return data + data
    i = draw(st.integers(0, len(parts) - 1))
    times = draw(st.sampled_from([1, 2, 100])) if len(parts[i]) < 10_000 else 1
    return b"".join(parts[:i] + [parts[i]] * (times + 1) + parts[i + 1:])


def _number(draw: st.DrawFn, data: bytes) -> bytes:
    found = list(NUMBER.finditer(data))
    if not found:
        return data + draw(st.sampled_from(TOKENS))
    match = found[draw(st.integers(0, len(found) - 1))]
    return data[:match.start()] + draw(st.sampled_from(TOKENS[:len(GIANT)])) + data[match.end():]


def deep(depth: int) -> Any:
    """A list nested `depth` deep, built without recursion."""
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_VALUES = st.one_of(
    st.sampled_from(GIANT),
    st.sampled_from([10**30, -(10**30), 10**4000, 1e308, -1e-308, 0.1 + 0.2, float("inf"), float("nan"),
                     True, False, None, [], {}, 0, -1]),
    st.text(max_size=40),
    st.integers(),
    st.floats(),
    st.just("x" * MILLION),
    st.builds(deep, st.sampled_from([10, 1000, 100_000])),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)


@st.composite
def mutated_json(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A seed document with one to six leaves replaced by hostile values, or removed."""
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        paths = list(_paths(doc))
        if not paths:
            return draw(HOSTILE_VALUES)
        parent, key = paths[draw(st.integers(0, len(paths) - 1))]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(key, None)
        else:
            parent[key] = draw(HOSTILE_VALUES)
    return doc


def _paths(doc: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every member and item, iteratively (hostile values may be deep)."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack and len(out) < 10_000:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            out.append((node, key))
            if isinstance(value, dict | list) and len(stack) < 50:
                stack.append(value)
    return out
