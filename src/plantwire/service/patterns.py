"""Python tests that stand in for the contracts' regex patterns on the ingest hot path.

A regex call per field was half of decoding an event, so the mirror (service/structs.py) checks
the patterns the contracts use most with plain string methods. Each test is a Python expression on
`v`, true when the value does NOT match; tests/unit/test_fastpath.py checks every one against the
regex and against pydantic itself. Patterns without a test keep their regex, and a pattern that
Python's re may read differently from pydantic's Rust regex is not mirrored at all.
"""

from __future__ import annotations

import re


def python_pattern(pattern: str) -> str:
    """A pydantic (Rust regex) pattern for Python's re: `$` there matches only at the very end."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern


_PATTERN_TESTS = {
    python_pattern(r"^\S(?:.*\S)?$"): 'not v or v[0].isspace() or v[-1].isspace() or "\\n" in v',
}
r"""Patterns checked by a Python expression instead of a regex (a regex call per field is most of
the decoding time): the expression is true when the value does NOT match. `^\S(?:.*\S)?$` (an
Identifier: no surrounding whitespace) in Python's re, as msgspec would run it: `\s` is
str.isspace() and `.` is anything but a newline. Character-class patterns such as
`^[A-Za-z0-9_%./-]+$` or `^[A-Z]{3}$` are turned into tests by `_class_test`."""

_CLASS = re.compile(r"^\^\[([A-Za-z0-9_%./:-]+)\](\+|\{([0-9]+)\})(?:\$|\\Z)$")
_RANGES = {"A-Z": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "a-z": "abcdefghijklmnopqrstuvwxyz", "0-9": "0123456789"}


def _members(spec: str) -> str | None:
    """The characters of a class such as `A-Za-z0-9_%./-` (a `-` last is itself), or None."""
    out, at = "", 0
    while at < len(spec):
        if spec[at + 1 : at + 2] == "-" and at + 2 < len(spec):
            span = spec[at : at + 3]
            if span not in _RANGES:
                return None
            out, at = out + _RANGES[span], at + 3
        else:
            out, at = out + spec[at], at + 1
    return out


def _class_test(pattern: str) -> str | None:
    """`^[class]+$` or `^[class]{n}$` as a Python test (str.strip removes only class members)."""
    found = _CLASS.match(pattern)
    members = None if found is None else _members(found.group(1))
    if found is None or members is None:
        return None
    size = "not v" if found.group(2) == "+" else f"len(v) != {int(found.group(3))}"
    return f"{size} or v.strip({''.join(sorted(set(members)))!r}) != ''"


def same_in_python(pattern: str) -> bool:
    """Whether Python's re reads a (Rust regex) pattern the same way: no class escapes such as
    \\w or \\d (Unicode tables differ) and an end anchor only at the end (python_pattern)."""
    body = pattern[:-2] if pattern.endswith("\\Z") else pattern
    return not re.search(r"\\[wWdDsSbB]", pattern) and "$" not in body.replace("\\$", "")


def pattern_test(pattern: str) -> str | None:
    """The Python test standing in for a (pydantic or mirror) pattern, or None to keep the regex."""
    return _PATTERN_TESTS.get(python_pattern(pattern)) or _class_test(pattern)
