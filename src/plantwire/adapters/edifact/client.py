"""The wire: EDIFACT interchanges arrive and leave as files (a VAN mailbox, an AS2 gateway's folders).

OS errors are translated here: a missing or busy share is retryable, a path that cannot be written
at all (permissions, a file where a folder should be) is permanent.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from plantwire.errors import PermanentError, TargetUnavailable

__all__ = ["FolderClient"]

_PERMANENT = {errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.EROFS, errno.ENAMETOOLONG}


class FolderClient:
    """Reads inbound interchanges from `inbox` and writes outbound ones to `outbox`, atomically."""

    def __init__(self, inbox: Path, outbox: Path) -> None:
        self.inbox, self.outbox = Path(inbox), Path(outbox)

    def pending(self) -> list[Path]:
        """Inbound files in name order."""
        try:
            return sorted(p for p in self.inbox.iterdir() if p.is_file() and not p.name.startswith("."))
        except OSError as exc:
            raise _translate(exc) from exc

    def read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise _translate(exc) from exc

    def write(self, name: str, data: bytes) -> Path:
        """Write once: an existing file of that name (the same idempotency key) is left as it is."""
        target = self.outbox / name
        try:
            if target.exists():
                return target
            tmp = self.outbox / f".{name}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, target)
            return target
        except OSError as exc:
            raise _translate(exc) from exc

    def done(self, path: Path, folder: str) -> None:
        """Move a processed inbound file to inbox/<folder>/ (done or error)."""
        try:
            (self.inbox / folder).mkdir(exist_ok=True)
            os.replace(path, self.inbox / folder / path.name)
        except OSError as exc:
            raise _translate(exc) from exc


def _translate(exc: OSError) -> Exception:
    if exc.errno in _PERMANENT:
        return PermanentError(f"EDIFACT folder: {exc}")
    return TargetUnavailable(f"EDIFACT folder unavailable: {exc}")
