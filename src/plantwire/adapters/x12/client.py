"""The file drop: X12 interchanges in from an inbox folder, 997s and 850s out to an outbox folder.

Files are written whole or not at all (temporary name, then an atomic rename), so a partner's
pickup never sees half a document; a processed inbound file moves to ``done/`` or, with a report,
to ``error/``. File-system errors become plantwire errors at this boundary.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from plantwire.errors import PermanentError, TargetUnavailable

T = TypeVar("T")


def _guard(action: Callable[[], T], what: str) -> T:
    try:
        return action()
    except PermissionError as error:
        raise PermanentError(f"{what}: {error}") from error
    except OSError as error:
        raise TargetUnavailable(f"{what}: {error}") from error


class FileDrop:
    """An inbox and an outbox folder shared with a trading partner (or an AS2 gateway)."""

    def __init__(self, inbox: Path, outbox: Path) -> None:
        self.inbox, self.outbox = Path(inbox), Path(outbox)

    def pending(self) -> list[Path]:
        """Inbound files waiting, oldest name first (hidden and partial files skipped)."""
        def scan() -> list[Path]:
            return sorted(p for p in self.inbox.iterdir() if p.is_file() and not p.name.startswith("."))
        return _guard(scan, f"listing {self.inbox}")

    def read(self, path: Path) -> bytes:
        """The bytes of an inbound file."""
        return _guard(path.read_bytes, f"reading {path}")

    def write(self, name: str, data: bytes) -> Path:
        """Put a file in the outbox atomically; the same name written again replaces it (idempotent)."""
        target = self.outbox / name
        temp = self.outbox / f".{name}.part"

        def put() -> Path:
            self.outbox.mkdir(parents=True, exist_ok=True)
            temp.write_bytes(data)
            os.replace(temp, target)
            return target
        return _guard(put, f"writing {target}")

    def finish(self, path: Path, ok: bool, report: str = "") -> Path:
        """Move a processed inbound file to done/ or error/ (with `<name>.report.txt` beside it)."""
        folder = self.inbox / ("done" if ok else "error")

        def move() -> Path:
            folder.mkdir(exist_ok=True)
            if report:
                (folder / f"{path.name}.report.txt").write_text(report)
            os.replace(path, folder / path.name)
            return folder / path.name
        return _guard(move, f"moving {path} to {folder}")
