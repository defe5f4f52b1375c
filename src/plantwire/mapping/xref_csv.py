"""Cross-references in and out of CSV: a pure reader, one-transaction import with a report, export.

Columns: ``system,kind,system_id,golden_id`` and optionally ``why``; ``system`` and ``kind`` may be
left out of the file when the caller gives them. Line numbers in the report are the file's lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from plantwire.errors import PlantwireError, RequestRejected
from plantwire.mapping.xref import XrefVersion, apply, check_names, current
from plantwire.ports import Clock, StateStore

COLUMNS = ("system", "kind", "system_id", "golden_id")


@dataclass(frozen=True)
class XrefRow:
    """One mapping read from a file, with its line number."""

    line: int
    system: str
    kind: str
    system_id: str
    golden: str
    why: str


@dataclass
class ImportReport:
    """What an import did, row by row: added, changed, unchanged, rejected (with line and reason)."""

    added: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    revision: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Counts, then the line numbers of each outcome and every rejection with its reason."""
        return {"added": len(self.added), "changed": len(self.changed), "unchanged": len(self.unchanged),
                "rejected": len(self.rejected), "lines": {"added": self.added, "changed": self.changed,
                                                          "unchanged": self.unchanged},
                "rejections": self.rejected, "revision": self.revision}


def read_rows(text: str, system: str | None = None, kind: str | None = None
              ) -> tuple[list[XrefRow], list[dict[str, Any]]]:
    """The rows of a cross-reference CSV, and the lines refused with a reason (pure).

    A file the csv module cannot read (a quote never closed, a NUL, a cell over the csv field limit)
    or with a quoted cell spanning lines is refused as a whole (RequestRejected 422 naming the line
    its record starts on), so nothing is imported from it and no row vanishes into another's cell."""
    records = _records(text)
    header = [h.strip() for h in next(records, (1, []))[1]]
    have = set(header)
    missing = [c for c in COLUMNS if c not in have and not (c == "system" and system)
               and not (c == "kind" and kind)]
    if missing:
        return [], [{"line": 1, "reason": f"missing column(s): {', '.join(missing)}"}]
    rows, rejected = [], []
    seen: dict[tuple[str, str, str], tuple[int, str]] = {}
    for line, values in records:
        cells = {k: v.strip() for k, v in zip(header, values, strict=False) if k}
        row = XrefRow(line, cells.get("system") or system or "", cells.get("kind") or kind or "",
                      cells.get("system_id", ""), cells.get("golden_id", ""), cells.get("why", ""))
        reason = _row_problem(row, seen)
        if reason:
            rejected.append({"line": line, "system_id": row.system_id, "reason": reason})
        else:
            seen[(row.system, row.kind, row.system_id)] = (line, row.golden)
            rows.append(row)
    return rows, rejected


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every non-blank record; unreadable or multi-line records are refused."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as bad:
            raise RequestRejected(422, "xref-csv", f"line {start}: the record starting here cannot be read: "
                                  f"{bad}", f"line {start}") from None
        if reader.line_num > start and cells:
            raise RequestRejected(422, "xref-csv-multiline", f"line {start}: a quoted cell runs from line "
                                  f"{start} to line {reader.line_num} (a quote is not closed?)",
                                  f"line {start}")
        if cells:
            yield start, cells
        start = reader.line_num + 1


def _row_problem(row: XrefRow, seen: dict[tuple[str, str, str], tuple[int, str]]) -> str | None:
    if not (row.system and row.kind and row.system_id and row.golden):
        return "system, kind, system_id and golden_id are all required"
    try:
        check_names(row.system, row.kind, row.system_id, row.golden)
    except PlantwireError as bad:
        return str(bad)
    earlier = seen.get((row.system, row.kind, row.system_id))
    if earlier is not None:
        return f"{row.system_id!r} already given on line {earlier[0]}"
    return None


def import_rows(state: StateStore, clock: Clock, rows: list[XrefRow], by: str, why: str = "",
                report: ImportReport | None = None) -> ImportReport:
    """Apply the rows in one transaction; a row that conflicts is rejected, the others still apply."""
    report = report or ImportReport()
    now = clock.now()
    with state.transaction() as tx:
        for row in rows:
            before = current(tx, row.system, row.kind, row.system_id)
            try:
                done: XrefVersion | None = apply(tx, row.system, row.kind, row.system_id, row.golden,
                                                 now, by, row.why or why)
            except PlantwireError as bad:
                report.rejected.append({"line": row.line, "system_id": row.system_id, "reason": str(bad)})
                continue
            if done is None:
                report.unchanged.append(row.line)
            else:
                (report.added if before is None else report.changed).append(row.line)
                report.revision = done.revision
    report.rejected.sort(key=lambda r: int(r["line"]))
    return report


def import_csv(state: StateStore, clock: Clock, text: str, by: str, why: str = "",
               system: str | None = None, kind: str | None = None) -> ImportReport:
    """Read and import a cross-reference CSV; the report covers every line."""
    rows, rejected = read_rows(text, system, kind)
    return import_rows(state, clock, rows, by, why, ImportReport(rejected=rejected))


def export_csv(versions: list[XrefVersion]) -> str:
    """Current mappings as CSV in the import format (re-importing it changes nothing); a `why` with line
    breaks is written on one line, since the import refuses cells that span lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, "why"])
    for v in versions:
        writer.writerow([v.system, v.kind, v.system_id, v.golden or "", " ".join(v.why.splitlines())])
    return out.getvalue()
