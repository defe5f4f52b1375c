"""Pure mapping from CSV rows to structured-mode CloudEvents, by a declared folder mapping.

A folder mapping (TOML ``[folder]`` or the same as JSON) declares the event type and source, the
event id as a template over columns (``"{PO}-{Receipt}-{Line}"``), and the data fields: each data
path (``lines[0].quantity.value``) takes a column, a constant, a template, or a column through a
value map; ``optional = true`` leaves the field out when the cell is blank.
"""

from __future__ import annotations

import csv
import io
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from plantwire.errors import ConfigurationError, InvalidEvent, Issue

Json = dict[str, Any]
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class FieldSpec:
    """Where one data field comes from: a column, a constant or a template; optionally value-mapped."""

    column: str | None = None
    const: Any = None
    template: str | None = None
    map: Mapping[str, str] | None = None
    optional: bool = False

    def columns(self) -> set[str]:
        """The columns this field reads."""
        if self.column is not None:
            return {self.column}
        return template_columns(self.template) if self.template else set()


@dataclass(frozen=True)
class FolderMapping:
    """The declared mapping of one watched folder."""

    name: str
    type: str
    source: str
    id: str
    fields: Mapping[str, FieldSpec]
    time: str | None = None
    plant: FieldSpec | None = None
    contractversion: str = "1"
    delimiter: str = ","
    encoding: str = "utf-8"
    multiline: bool = False
    """Cells may hold line breaks (quoted cells spanning lines); off, such a cell rejects the file."""
    extensions: Mapping[str, str] = field(default_factory=dict)

    def required_columns(self) -> set[str]:
        """Every column the header must have."""
        cols = template_columns(self.id) | ({self.time} if self.time else set())
        for spec in [*self.fields.values(), *([self.plant] if self.plant else [])]:
            cols |= spec.columns()
        return cols


def template_columns(template: str) -> set[str]:
    """The column names a ``{Column}`` template reads."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _spec(raw: Any) -> FieldSpec:
    if isinstance(raw, str):
        return FieldSpec(column=raw)
    if not isinstance(raw, dict) or sum(k in raw for k in ("column", "const", "template")) != 1:
        raise ConfigurationError(f"a field is a column name or a table with one of column, const, "
                                 f"template; got {raw!r}")
    return FieldSpec(raw.get("column"), raw.get("const"), raw.get("template"), raw.get("map"),
                     bool(raw.get("optional", False)))


def mapping_from_dict(doc: Mapping[str, Any]) -> FolderMapping:
    """A folder mapping from its TOML/JSON table (the ``[folder]`` table or the document itself)."""
    table = doc.get("folder", doc)
    try:
        fields = {str(path): _spec(raw) for path, raw in table["fields"].items()}
        for path in fields:
            _steps(path)
        plant = _spec(table["plant"]) if "plant" in table else None
        return FolderMapping(
            name=str(table["name"]), type=str(table["type"]), source=str(table["source"]),
            id=str(table["id"]), fields=fields, time=table.get("time"), plant=plant,
            contractversion=str(table.get("contractversion", "1")),
            delimiter=_delimiter(table.get("delimiter", ",")), encoding=str(table.get("encoding", "utf-8")),
            multiline=_flag(table, "multiline"),
            extensions={str(k): str(v) for k, v in table.get("extensions", {}).items()})
    except KeyError as missing:
        raise ConfigurationError(f"folder mapping lacks {missing}") from None


def _delimiter(raw: Any) -> str:
    if not isinstance(raw, str) or len(raw) != 1 or raw in "\"\r\n":
        raise ConfigurationError(f"folder mapping: delimiter must be one character (not a quote or "
                                 f"line break), got {raw!r}")
    return raw


def _flag(table: Mapping[str, Any], key: str) -> bool:
    raw = table.get(key, False)
    if not isinstance(raw, bool):
        raise ConfigurationError(f"folder mapping: {key} must be true or false, got {raw!r}")
    return raw


def read_rows(text: str, delimiter: str = ",", *,
              multiline: bool = False) -> tuple[list[str], list[tuple[int, Json | None]]]:
    """Header, then (line number, cells by column) per data row; None for a row of the wrong width.

    A record the csv module cannot read (a quote never closed, text after a closing quote, a NUL, a
    cell over ``csv.field_size_limit``) raises InvalidEvent naming the line the record starts on, and
    so does a quoted cell spanning lines unless the mapping declares ``multiline``: that is how one
    unbalanced quote swallows every row after it while the row count still looks right.
    """
    nul = text.find("\0")
    if nul >= 0:  # a binary or UTF-16 file read as text; csv would pass NULs into cells
        raise InvalidEvent([Issue(f"line {text.count(chr(10), 0, nul) + 1}", "csv-syntax",
                                  "NUL character: is this a text file in the declared encoding?")])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = _records(reader, multiline)
    header = [h.strip().lstrip("\ufeff") for h in next(records, (1, []))[1]]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InvalidEvent([Issue("line 1", "csv-header", f"column(s) named twice: {', '.join(repeated)}")])
    rows: list[tuple[int, Json | None]] = []
    for line, cells in records:
        if not any(c.strip() for c in cells):
            continue
        rows.append((line, dict(zip(header, (c.strip() for c in cells), strict=True))
                     if len(cells) == len(header) else None))
    return header, rows


def _records(reader: Any, multiline: bool) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) per record, with every reading problem located at its first line."""
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InvalidEvent([Issue(f"line {start}", "csv-syntax", f"the record starting here cannot be "
                                      f"read: {error} (reading line {reader.line_num})")]) from None
        end = reader.line_num
        if end > start and not multiline:
            raise InvalidEvent([Issue(f"line {start}", "csv-multiline", f"a quoted cell runs from line "
                                      f"{start} to line {end}: a quote is not closed, or declare "
                                      "multiline = true if cells may hold line breaks")])
        yield start, cells
        start = end + 1


def missing_columns(mapping: FolderMapping, header: list[str]) -> list[str]:
    """The declared columns the header lacks, sorted."""
    return sorted(mapping.required_columns() - set(header))


def _value(spec: FieldSpec, row: Json, where: str, issues: list[Issue]) -> Any:
    if spec.const is not None:
        return spec.const
    if spec.template is not None:
        return spec.template.format_map(row)
    assert spec.column is not None
    cell = row.get(spec.column, "")
    if cell == "":
        if not spec.optional:
            issues.append(Issue(f"{where}:{spec.column}", "csv-required", f"column {spec.column!r} is empty"))
        return None
    if spec.map is not None:
        if cell not in spec.map:
            issues.append(Issue(f"{where}:{spec.column}", "csv-value-map",
                                f"column {spec.column!r} value {cell!r} has no mapping "
                                f"(known: {', '.join(sorted(spec.map))})"))
            return None
        return spec.map[cell]
    return cell


def row_event(mapping: FolderMapping, row: Json, line: int) -> Json:
    """The CloudEvent of one row, or InvalidEvent listing every problem (paths name line and column)."""
    where = f"line {line}"
    issues: list[Issue] = []
    data: Json = {}
    for path, spec in mapping.fields.items():
        value = _value(spec, row, where, issues)
        if value is not None:
            _set(data, path, value)
    event: Json = {"specversion": "1.0", "id": mapping.id.format_map(row), "source": mapping.source,
                   "type": mapping.type, "datacontenttype": "application/json",
                   "contractversion": mapping.contractversion, **mapping.extensions}
    if mapping.time:
        event["time"] = _value(FieldSpec(column=mapping.time), row, where, issues)
    if mapping.plant is not None:
        event["plant"] = _value(mapping.plant, row, where, issues)
    if issues:
        raise InvalidEvent(issues)
    event["data"] = data
    return event


def _steps(path: str) -> list[str | int]:
    out: list[str | int] = []
    at = 0
    for m in _STEP.finditer(path):
        if m.start() not in (at, at + 1):
            break
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        at = m.end()
    if at != len(path) or not out:
        raise ConfigurationError(f"cannot read field path {path!r}")
    return out


def _set(data: Json, path: str, value: Any) -> None:
    parts = _steps(path)
    node: Any = data
    for step, nxt in zip(parts, parts[1:], strict=False):
        blank: Any = [] if isinstance(nxt, int) else {}
        if isinstance(step, int):
            while len(node) <= step:
                node.append(None)
            if node[step] is None:
                node[step] = blank
        elif step not in node:
            node[step] = blank
        node = node[step]
    last = parts[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value
