"""Online backup of a data directory's SQLite stores into one archive, and restore from it.

Each store is copied with SQLite's online backup API (`sqlite3.Connection.backup`) in one step: the
copy is the file as of one read transaction, while the hub goes on appending (WAL readers do not
block the writer). The stores are copied one after the other, state before journal: the journal
only grows, so the journal copy holds every entry the state copy's positions and effects refer to,
and every subscriber position in a restored state.db is at most the restored journal's head.

The archive is a gzipped tar with ``manifest.json`` first and then one ``<store>.db`` per store.
The manifest gives, per store, its schema version, row counts per table, size and SHA-256, and for
the journal its head seq; and when and from where the copy was made. Restore refuses a directory
that is not empty, checks every file against the manifest (digest, schema version known to this
code, row counts, SQLite's quick_check) before anything is moved into place, and takes no member
the manifest does not name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import IO, Any

import orjson

from plantwire.errors import ConfigurationError
from plantwire.journal.sqlite_schema import STORES, StoreSchema, stored_version, stores_in

FORMAT = "plantwire-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20


class BackupError(ConfigurationError):
    """A backup cannot be made or an archive cannot be restored as asked (nothing was changed)."""


@dataclass(frozen=True)
class StoreCopy:
    """What the manifest says of one copied store."""

    file: str
    schema_version: int
    rows: dict[str, int]
    bytes: int
    sha256: str
    head: int | None = None
    """The journal's highest seq (journal.db only)."""

    def as_dict(self) -> dict[str, Any]:
        """The manifest's JSON shape."""
        out: dict[str, Any] = {"schema_version": self.schema_version, "rows": self.rows,
                               "bytes": self.bytes, "sha256": self.sha256}
        if self.head is not None:
            out["head"] = self.head
        return out


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _describe(path: Path, schema: StoreSchema) -> StoreCopy:
    """Versions, row counts and head of a standalone copy, after SQLite checked it."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{path.name}: SQLite quick_check says {check!r}")
        rows = {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
                for t in schema.v1_tables}
        head = (int(conn.execute("SELECT COALESCE(max(seq), 0) FROM journal").fetchone()[0])
                if "journal" in schema.v1_tables else None)
        version = stored_version(conn)
    return StoreCopy(schema.file, version, rows, path.stat().st_size, _digest(path), head)


def _copy(source: Path, target: Path, schema: StoreSchema) -> StoreCopy:
    """One store, online, into a standalone file (rollback journal: no -wal beside it)."""
    with closing(sqlite3.connect(source, timeout=30.0)) as src, \
            closing(sqlite3.connect(target)) as dst:
        version = stored_version(src)
        if version > schema.latest:
            raise BackupError(f"{source}: schema version {version} is newer than this plantwire "
                              f"knows ({schema.latest}); back it up with the plantwire that wrote it")
        src.backup(dst)  # pages=-1: every page in one step, one consistent read transaction
        dst.execute("PRAGMA journal_mode=DELETE")
    return _describe(target, schema)


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes | Path, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.mtime, info.mode = int(mtime), 0o600
    if isinstance(data, Path):
        info.size = data.stat().st_size
        with data.open("rb") as f:
            tar.addfile(info, f)
    else:
        info.size = len(data)
        tar.addfile(info, BytesIO(data))


def backup(data_dir: Path, archive: Path) -> dict[str, Any]:
    """Copy every store in `data_dir` into `archive` (which must not exist); the manifest."""
    found = stores_in(data_dir)
    if not found:
        raise BackupError(f"data dir {data_dir}: no plantwire SQLite files in it")
    if archive.exists():
        raise BackupError(f"{archive} exists; name a new file (a backup never overwrites one)")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix=".pw-backup-", dir=archive.parent) as tmp:
        copies = [_copy(path, Path(tmp) / schema.file, schema) for path, schema in found]
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "created": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
                    "created_at": started, "finished_at": time.time(), "data_dir": str(data_dir.resolve()),
                    "stores": {c.file: c.as_dict() for c in copies}}
        partial = Path(tmp) / "archive.partial"
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            _tar_add(tar, MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2), started)
            for c in copies:
                _tar_add(tar, c.file, Path(tmp) / c.file, started)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, archive)  # whole or absent: never a half-written backup under its name
    return manifest


def read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    """The archive's manifest, checked for our format and known store names."""
    member = tar.next()
    if member is None or member.name != MANIFEST or not member.isfile():
        raise BackupError(f"{archive}: not a plantwire backup (no {MANIFEST} first)")
    stream = tar.extractfile(member)
    assert stream is not None
    try:
        manifest: dict[str, Any] = orjson.loads(stream.read())
    except orjson.JSONDecodeError as exc:
        raise BackupError(f"{archive}: {MANIFEST} is not JSON ({exc})") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{archive}: format {manifest.get('format')!r} version "
                          f"{manifest.get('format_version')!r}; this plantwire reads {FORMAT} "
                          f"version {FORMAT_VERSION}")
    known = {s.file for s in STORES}
    stores = manifest.get("stores")
    if not isinstance(stores, dict) or not stores or set(stores) - known:
        raise BackupError(f"{archive}: the manifest names stores {stores and sorted(stores)}; "
                          f"known: {sorted(known)}")
    return manifest


def _extract(stream: IO[bytes], target: Path) -> None:
    with target.open("wb") as out:
        shutil.copyfileobj(stream, out, CHUNK)
        out.flush()
        os.fsync(out.fileno())


def _verify(path: Path, schema: StoreSchema, expected: dict[str, Any], archive: Path) -> None:
    """A restored file is byte for byte the one the manifest describes, and this code can run it."""
    if _digest(path) != expected.get("sha256"):  # first: damage is named as such, not by SQLite
        raise BackupError(f"{archive}: {schema.file} does not match its manifest digest "
                          "(the archive is damaged)")
    found = _describe(path, schema)
    if found.schema_version > schema.latest:
        raise BackupError(f"{archive}: {schema.file} schema version {found.schema_version} is newer "
                          f"than this plantwire knows ({schema.latest}); upgrade plantwire")
    if found.as_dict() != expected:
        raise BackupError(f"{archive}: {schema.file} is {found.as_dict()}, its manifest says {expected}")


@contextmanager
def _staging(data_dir: Path) -> Iterator[Path]:
    """A scratch directory inside the target (same file system: the final moves are renames)."""
    stage = Path(tempfile.mkdtemp(prefix=".pw-restore-", dir=data_dir))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def restore(archive: Path, data_dir: Path) -> dict[str, Any]:
    """Bring back every store of `archive` into `data_dir` (absent or empty); the manifest."""
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise BackupError(f"{data_dir} is not an empty directory; restore only into a new one")
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file")
    data_dir.mkdir(parents=True, exist_ok=True)
    schemas = {s.file: s for s in STORES}
    try:
        with tarfile.open(archive, "r:gz") as tar, _staging(data_dir) as stage:
            manifest = read_manifest(tar, archive)
            done: set[str] = set()
            while (member := tar.next()) is not None:  # after the manifest, in archive order
                name = member.name
                if name not in manifest["stores"] or name in done or not member.isfile():
                    raise BackupError(f"{archive}: unexpected member {name!r}")
                stream = tar.extractfile(member)
                assert stream is not None
                _extract(stream, stage / name)
                _verify(stage / name, schemas[name], manifest["stores"][name], archive)
                done.add(name)
            if missing := set(manifest["stores"]) - done:
                raise BackupError(f"{archive}: the manifest names {sorted(missing)}, not in the archive")
            for name in done:
                os.replace(stage / name, data_dir / name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        for name in schemas:
            (data_dir / name).unlink(missing_ok=True)
        raise BackupError(f"{archive}: cannot be read as a backup ({exc})") from exc
    return manifest
