"""The wire side of B2MML: a folder exchange (inbox, done, error, outbox), as MES and ERP connectors
drop and pick up B2MML files. OS errors are translated here: a missing or unreadable file is
permanent, anything else (disk full, a share that went away) is retryable."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from plantwire.errors import PermanentError, TargetUnavailable

__all__ = ["B2mmlFolder"]

_PERMANENT = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENAMETOOLONG}


def _translate(error: OSError, what: str) -> Exception:
    if error.errno in _PERMANENT:
        return PermanentError(f"{what}: {error.strerror or error}")
    return TargetUnavailable(f"{what}: {error.strerror or error}")


class B2mmlFolder:
    """Files under one root: ``inbox/`` to read, ``done/`` and ``error/`` once handled, ``outbox/``."""

    def __init__(self, root: Path, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.root = root
        self.max_bytes = max_bytes
        for name in ("inbox", "done", "error", "outbox"):
            (root / name).mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        """Inbox files in name order (partners name files by time), skipping temporary ones."""
        try:
            return sorted(p for p in (self.root / "inbox").iterdir()
                          if p.is_file() and not p.name.startswith(".") and p.suffix.lower() == ".xml")
        except OSError as error:
            raise _translate(error, "cannot list the B2MML inbox") from error

    def read(self, path: Path) -> bytes:
        """The bytes of an inbox file; a file over the size limit is refused unread."""
        try:
            if path.stat().st_size > self.max_bytes:
                raise PermanentError(f"{path.name} is larger than {self.max_bytes} bytes")
            return path.read_bytes()
        except OSError as error:
            raise _translate(error, f"cannot read {path.name}") from error

    def done(self, path: Path) -> Path:
        """Move a handled file to done/."""
        return self._move(path, "done")

    def failed(self, path: Path, report: str) -> Path:
        """Move a refused file to error/ with a ``.report.txt`` beside it saying why."""
        target = self._move(path, "error")
        try:
            target.with_name(target.name + ".report.txt").write_text(report, encoding="utf-8")
        except OSError as error:
            raise _translate(error, f"cannot write the report of {path.name}") from error
        return target

    def write(self, name: str, data: bytes) -> tuple[Path, bool]:
        """Write outbox/<name> atomically unless it exists; (path, whether it was already there)."""
        target = self.root / "outbox" / name
        if target.exists():
            return target, True
        temp = target.with_name(f".{name}.tmp")
        try:
            temp.write_bytes(data)
            os.replace(temp, target)
        except OSError as error:
            raise _translate(error, f"cannot write {name}") from error
        return target, False

    def _move(self, path: Path, folder: str) -> Path:
        target = self.root / folder / path.name
        try:
            os.replace(path, target)
        except OSError as error:
            raise _translate(error, f"cannot move {path.name} to {folder}/") from error
        return target
