"""A watched-folder source: each settled CSV file is read once (by content hash), its rows become
events through the declared mapping, the Intake keeps them, and the file moves to done/ or error/
with a report of every row (accepted, duplicate, held for review, or rejected with issues and line).

Order of effects: intake (durable) -> the content hash remembered in the StateStore -> the file
moved. A crash in between re-reads the file: its rows come back as duplicates (deterministic ids) or
its hash is known and it is only moved. A bad row never stops the good rows of its file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantwire.adapters._common import accept_each, issues_of
from plantwire.adapters.csv.client import DropFolder, Seen, content_hash
from plantwire.adapters.csv.translate import FolderMapping, missing_columns, read_rows, row_event
from plantwire.errors import InvalidEvent, PermanentError, RetryableError
from plantwire.ports import Clock, Intake, StateStore

log = logging.getLogger("plantwire.adapters.csv")
FILES = "csv.files"
Json = dict[str, Any]


@dataclass(frozen=True)
class FileResult:
    """What became of one file."""

    name: str
    outcome: str  # done | error | already-processed
    moved_to: Path
    counts: dict[str, int]


class CsvFolderSource:
    """Watches one folder with one declared mapping and hands its rows to the intake."""

    def __init__(self, folder: Path, mapping: FolderMapping, intake: Intake, state: StateStore,
                 clock: Clock, *, interval: float = 1.0, settle_scans: int = 1) -> None:
        self.name = f"csv:{mapping.name}"
        self.folder, self.mapping, self.intake = DropFolder(folder), mapping, intake
        self.state, self.clock = state, clock
        self.interval, self.settle_scans = interval, settle_scans
        self._seen: dict[Path, tuple[int, int, int]] = {}  # size, mtime, unchanged scans

    def _settled(self, files: list[Seen]) -> list[Seen]:
        """Files whose size and time did not change for `settle_scans` scans (still being written?)."""
        ready, seen = [], {}
        for f in files:
            size, mtime, count = self._seen.get(f.path, (-1, -1, -1))
            count = count + 1 if (size, mtime) == (f.size, f.mtime_ns) else 0
            seen[f.path] = (f.size, f.mtime_ns, count)
            if count >= self.settle_scans:
                ready.append(f)
        self._seen = seen
        return ready

    async def scan_once(self) -> list[FileResult]:
        """Process every settled file once."""
        self.folder.ensure()
        results = []
        for f in self._settled(self.folder.candidates()):
            result = await self._guarded(f.path)
            if result is not None:
                self._seen.pop(f.path, None)
                results.append(result)
        return results

    async def _guarded(self, path: Path) -> FileResult | None:
        """`process`, where anything but an unavailable folder or intake costs this one file (filed
        in error/ with a report), never the folder: the next file is read all the same."""
        try:
            return await self.process(path)
        except RetryableError:
            raise
        except Exception as error:  # a fault in one file must not end the watched folder
            log.exception("%s: %s could not be processed", self.name, path.name)
            raw = self.folder.read(path)
            if raw is None:
                return None
            digest = content_hash(raw)
            report = {"file": path.name, "sha256": digest, "mapping": self.mapping.name,
                      "processed_at": self.clock.now(), "status": "failed",
                      "error": f"{type(error).__name__}: {error}", "issues": issues_of(error),
                      "counts": {}, "rows": []}
            return FileResult(path.name, "error", self.folder.finish(path, "error", digest, report), {})

    async def process(self, path: Path) -> FileResult | None:
        """Read, translate, hand over, remember, move one file; None if it vanished."""
        raw = self.folder.read(path)
        if raw is None:
            return None
        digest = content_hash(raw)
        key = f"{self.mapping.name}|{digest}"
        with self.state.transaction() as tx:
            before = tx.get(FILES, key)
        if before is not None:
            report = {"file": path.name, "sha256": digest, "status": "already-processed", "first": before}
            moved = self.folder.finish(path, "done", digest, report)
            return FileResult(path.name, "already-processed", moved, {})
        report = await self._report(path.name, digest, raw)
        outcome = "done" if report["status"] == "ok" else "error"
        with self.state.transaction() as tx:
            tx.put(FILES, key, {"file": path.name, "at": self.clock.now(), "outcome": outcome,
                                "counts": report["counts"]})
        moved = self.folder.finish(path, outcome, digest, report)
        log.info("%s: %s -> %s %s", self.name, path.name, outcome, report["counts"])
        return FileResult(path.name, outcome, moved, report["counts"])

    async def _report(self, name: str, digest: str, raw: bytes) -> Json:
        base: Json = {"file": name, "sha256": digest, "mapping": self.mapping.name,
                      "processed_at": self.clock.now()}
        try:
            text = raw.decode(self.mapping.encoding)
        except (UnicodeDecodeError, LookupError) as bad:
            return {**base, "status": "unreadable", "error": f"not {self.mapping.encoding} text: {bad}",
                    "counts": {}, "rows": []}
        try:
            header, rows = read_rows(text, self.mapping.delimiter, multiline=self.mapping.multiline)
        except InvalidEvent as bad:
            return {**base, "status": "unreadable", "error": str(bad), "issues": issues_of(bad),
                    "counts": {}, "rows": []}
        missing = missing_columns(self.mapping, header)
        if missing:
            return {**base, "status": "unreadable", "error": f"header lacks column(s): {', '.join(missing)}",
                    "counts": {}, "rows": []}
        lines = await self._rows(rows, len(header))
        counts = {s: sum(r["status"] == s for r in lines)
                  for s in ("accepted", "duplicate", "held", "rejected")}
        return {**base, "status": "ok" if not counts["rejected"] else "rows-rejected", "counts": counts,
                "rows": lines}

    async def _rows(self, rows: list[tuple[int, Json | None]], width: int) -> list[Json]:
        out: dict[int, Json] = {}
        events: list[tuple[int, Json]] = []
        for line, row in rows:
            if row is None:
                out[line] = {"line": line, "status": "rejected", "issues": [
                    {"path": f"line {line}", "rule": "csv-width", "message": f"expected {width} cells"}]}
                continue
            try:
                events.append((line, row_event(self.mapping, row, line)))
            except PermanentError as bad:
                out[line] = {"line": line, "status": "rejected", "issues": issues_of(bad)}
        receipts = await accept_each(self.intake, [e for _, e in events])
        for (line, event), receipt in zip(events, receipts, strict=True):
            out[line] = _row_outcome(line, event, receipt)
        return [out[k] for k in sorted(out)]

    async def run(self, stop: asyncio.Event) -> None:
        """Scan until `stop` is set; an unavailable folder or intake is retried next interval."""
        while not stop.is_set():
            try:
                await self.scan_once()
            except RetryableError as error:
                log.warning("%s: scan failed, retrying: %s", self.name, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)


def _row_outcome(line: int, event: Json, receipt: Json) -> Json:
    status = receipt.get("status")
    row: Json = {"line": line, "id": event["id"]}
    if receipt.get("review") is not None:
        return {**row, "status": "held", "review": receipt["review"], "issues": receipt.get("held", [])}
    if status in ("accepted", "duplicate"):
        row.update(status=status, seq=receipt.get("seq"))
        if receipt.get("warnings"):
            row["warnings"] = receipt["warnings"]
        return row
    return {**row, "status": "rejected", "issues": receipt.get("errors") or [receipt]}
