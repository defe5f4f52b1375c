"""What `restore` refuses, on real archives: a used directory, a damaged or foreign archive, a store
newer than this code; and what `backup` refuses: an existing file, a directory with no stores.
A refused restore leaves no store file behind."""

from __future__ import annotations

import io
import sqlite3
import tarfile
from pathlib import Path

import orjson
import pytest

from plantwire.clocks import ManualClock
from plantwire.edge.outbox import Outbox
from plantwire.journal.backup import MANIFEST, BackupError, backup, restore
from plantwire.journal.sqlite import SqliteJournal, SqliteState


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    SqliteJournal(d / "journal.db", ManualClock()).close()
    state = SqliteState(d / "state.db")
    with state.transaction() as tx:
        tx.put("ns", "k", {"v": 1})
    state.close()
    Outbox(d / "outbox.db").close()
    return d


def rewrite(archive: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """A copy of the archive with members replaced (bytes) or dropped (None)."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name in change:
                if change[member.name] is None:
                    continue
                data = change[member.name]  # type: ignore[assignment]
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def test_round_trip_and_manifest(data_dir: Path, tmp_path: Path) -> None:
    manifest = backup(data_dir, tmp_path / "b.tgz")
    assert list(manifest["stores"]) == ["state.db", "journal.db", "outbox.db"]
    assert manifest["stores"]["state.db"]["rows"] == {"kv": 1}
    assert manifest["stores"]["journal.db"]["head"] == 0
    restore(tmp_path / "b.tgz", tmp_path / "new")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["journal.db", "outbox.db", "state.db"]
    with pytest.raises(BackupError, match="exists"):
        backup(data_dir, tmp_path / "b.tgz")
    with pytest.raises(BackupError, match="no plantwire SQLite files"):
        backup(tmp_path / "new" / "nothing", tmp_path / "c.tgz")


def test_restore_refuses_a_directory_in_use(data_dir: Path, tmp_path: Path) -> None:
    backup(data_dir, tmp_path / "b.tgz")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(BackupError, match="not an empty directory"):
        restore(tmp_path / "b.tgz", tmp_path / "used")
    with pytest.raises(BackupError, match="not an empty directory"):
        restore(tmp_path / "b.tgz", data_dir)


def test_restore_refuses_a_damaged_or_foreign_archive(data_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "b.tgz"
    backup(data_dir, good)
    with tarfile.open(good, "r:gz") as tar:
        state = tar.extractfile("state.db").read()  # type: ignore[union-attr]
    damaged = state[:-1] + bytes([state[-1] ^ 1])
    cases = {
        "digest": ({"state.db": damaged}, "does not match its manifest digest"),
        "missing": ({"outbox.db": None}, "not in the archive"),
        "no manifest": ({MANIFEST: None}, "not a plantwire backup"),
    }
    for n, (change, message) in enumerate(cases.values()):
        bad = tmp_path / f"bad{n}.tgz"
        rewrite(good, bad, change)
        with pytest.raises(BackupError, match=message):
            restore(bad, tmp_path / f"out{n}")
        assert not any((tmp_path / f"out{n}").glob("*.db"))
    (tmp_path / "junk.tgz").write_bytes(b"not a tar")
    with pytest.raises(BackupError, match="cannot be read"):
        restore(tmp_path / "junk.tgz", tmp_path / "out-junk")


def test_restore_refuses_a_store_newer_than_the_code(data_dir: Path, tmp_path: Path) -> None:
    conn = sqlite3.connect(data_dir / "state.db")
    conn.execute("PRAGMA user_version = 9")
    conn.close()
    with pytest.raises(BackupError, match="newer than this plantwire"):
        backup(data_dir, tmp_path / "b.tgz")
    assert not (tmp_path / "b.tgz").exists()


def test_manifest_names_only_known_stores(data_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "b.tgz"
    manifest = backup(data_dir, good)
    manifest["stores"]["secrets.db"] = manifest["stores"]["state.db"]
    rewrite(good, tmp_path / "x.tgz", {MANIFEST: orjson.dumps(manifest)})
    with pytest.raises(BackupError, match="known"):
        restore(tmp_path / "x.tgz", tmp_path / "out")
