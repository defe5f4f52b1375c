"""A folder sink: canonical commands written as CSV files for a legacy system to pick up.

Each command becomes one file named after its idempotency key, written to a ``.tmp`` name and
renamed, so the reader never sees half a file and a retried command does not write a second one.
Header-line payload fields are repeated on each row of a list field (e.g. ``lines``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path
from typing import Any

from plantwire.errors import TargetUnavailable
from plantwire.ports import Command


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted columns (lists left in place)."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for k, v in value.items():
        name = f"{prefix}.{k}" if prefix else str(k)
        out.update(flatten(v, name) if isinstance(v, dict) else {name: v})
    return out


def command_rows(command: Command) -> list[dict[str, Any]]:
    """One row per element of the first list of objects in the payload, else one row (pure)."""
    head = {k: v for k, v in flatten(command.payload).items() if not isinstance(v, list)}
    lists = [(k, v) for k, v in command.payload.items() if isinstance(v, list) and v and
             all(isinstance(x, dict) for x in v)]
    if not lists:
        return [head]
    name, items = lists[0]
    return [{**head, **flatten(item, name)} for item in items]


def render(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV text with the union of their columns, in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class CsvFolderSink:
    """Writes each command to ``<folder>/<name>-<key hash>.csv`` once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """Write the command's file unless it exists; returns its name."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        target = self.folder / f"{command.name}-{digest}.csv"
        if target.exists():
            return {"file": target.name, "written": False}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(render(command_rows(command)), encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            raise TargetUnavailable(f"cannot write {target}: {exc}") from exc
        return {"file": target.name, "written": True}
