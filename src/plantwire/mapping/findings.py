"""Findings (an issue plus what to do about it) and the small JSON-path helpers the rules share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from plantwire.errors import Issue

Severity = Literal["reject", "quarantine", "warn"]
SEVERITIES: tuple[Severity, ...] = ("reject", "quarantine", "warn")
_STEP = re.compile(r"([^.\[\]]+)|\[(\*|\d+)\]")


@dataclass(frozen=True)
class Finding:
    """One problem found by a check, and its severity: reject, quarantine (hold for review) or warn."""

    severity: Severity
    issue: Issue

    def as_dict(self) -> dict[str, str]:
        """The JSON shape: the issue with its severity."""
        return {**self.issue.as_dict(), "severity": self.severity}


def severity(value: object) -> Severity:
    """A severity named in a rule file; anything else is an error."""
    for known in SEVERITIES:
        if value == known:
            return known
    raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {value!r}")


def steps(path: str) -> list[str | int | None]:
    """A path such as ``lines[*].quantity.value`` as steps: names, indexes, None for every element."""
    out: list[str | int | None] = []
    at = 0
    for m in _STEP.finditer(path):
        if m.start() != at and path[at:m.start()] != ".":
            raise ValueError(f"cannot read path {path!r} at {at}")
        name, index = m.groups()
        out.append(name if name is not None else (None if index == "*" else int(index)))
        at = m.end()
    if at != len(path) or not out:
        raise ValueError(f"cannot read path {path!r}")
    return out


def values_at(data: Any, path: str, root: str = "$.data") -> Iterator[tuple[str, Any]]:
    """(JSON path, value) of every value the path reaches; a missing end yields (path, None)."""
    yield from _walk(data, steps(path), root)


def _walk(node: Any, rest: list[str | int | None], where: str) -> Iterator[tuple[str, Any]]:
    if not rest:
        yield where, node
        return
    step, tail = rest[0], rest[1:]
    if step is None:
        for i, item in enumerate(node if isinstance(node, list) else []):
            yield from _walk(item, tail, f"{where}[{i}]")
    elif isinstance(step, int):
        item = node[step] if isinstance(node, list) and step < len(node) else None
        yield from _walk(item, tail, f"{where}[{step}]")
    else:
        yield from _walk(node.get(step) if isinstance(node, dict) else None, tail, f"{where}.{step}")


def set_at(data: dict[str, Any], path: str, value: Any) -> None:
    """Put a value at a path of names and indexes, creating objects and lists on the way."""
    parts = steps(path)
    node: Any = data
    for step, nxt in zip(parts, [*parts[1:], "end"], strict=True):
        if step is None:
            raise ValueError(f"cannot write through [*] in {path!r}")
        blank: Any = value if nxt == "end" else ([] if isinstance(nxt, int) else {})
        if isinstance(step, int):
            while len(node) <= step:
                node.append(None)
            if node[step] is None or nxt == "end":
                node[step] = blank
            node = node[step]
        else:
            if step not in node or nxt == "end":
                node[step] = blank
            node = node[step]
