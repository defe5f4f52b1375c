"""The file-system boundary of a watched folder: list what is there, read it, file it away.

File-system errors become the error tree here: an unreadable or unmovable file is a retryable
TargetUnavailable (the folder may be on a share that comes back). Files being written are skipped by
name (``.tmp``, ``.part``, ``.partial``, dot files: the write-then-rename convention); the source also
waits until a file's size and modification time have stopped changing.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from plantwire.errors import TargetUnavailable

PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
REPORT_SUFFIX = ".report.json"


@dataclass(frozen=True)
class Seen:
    """One file in the folder as last observed."""

    path: Path
    size: int
    mtime_ns: int


def content_hash(data: bytes) -> str:
    """The identity of a file's content (SHA-256, hex)."""
    return hashlib.sha256(data).hexdigest()


class DropFolder:
    """A folder that receives files, with ``done/`` and ``error/`` beside the arrivals."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.done, self.error = root / "done", root / "error"

    def ensure(self) -> None:
        """Create the folder and its done/ and error/ subfolders."""
        try:
            for path in (self.root, self.done, self.error):
                path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TargetUnavailable(f"cannot prepare folder {self.root}: {exc}") from exc

    def candidates(self) -> list[Seen]:
        """Complete-looking files waiting in the folder, by name."""
        try:
            entries = sorted(os.scandir(self.root), key=lambda e: e.name)
        except OSError as exc:
            raise TargetUnavailable(f"cannot list {self.root}: {exc}") from exc
        out = []
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name.lower().endswith(PARTIAL_SUFFIXES) or not entry.is_file():
                continue
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue  # renamed away between listing and looking
            out.append(Seen(Path(entry.path), st.st_size, st.st_mtime_ns))
        return out

    def read(self, path: Path) -> bytes | None:
        """The file's bytes, or None when it vanished meanwhile."""
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TargetUnavailable(f"cannot read {path}: {exc}") from exc

    def finish(self, path: Path, outcome: str, digest: str, report: dict[str, Any]) -> Path:
        """Move a processed file to done/ or error/ and write its report beside it; returns the new path."""
        target_dir = self.done if outcome == "done" else self.error
        target = target_dir / path.name
        if target.exists():
            target = target_dir / f"{path.stem}.{digest[:12]}{path.suffix}"
        try:
            report_path = target.with_name(target.name + REPORT_SUFFIX)
            tmp = report_path.with_name(report_path.name + ".tmp")
            tmp.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str))
            os.replace(tmp, report_path)
            os.replace(path, target)
        except FileNotFoundError:
            return target  # moved already (a second scanner, or after a crash)
        except OSError as exc:
            raise TargetUnavailable(f"cannot move {path} to {target_dir}: {exc}") from exc
        return target
