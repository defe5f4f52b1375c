"""`plantwire db upgrade`, `plantwire backup` and `plantwire restore`: the storage an operator keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from plantwire.cli.common import console, fail

db = typer.Typer(help="Create or upgrade the storage schema: PostgreSQL (--backend) or the SQLite "
                 "files of a data directory (--data-dir).", no_args_is_help=True)

UpgradeBackend = Annotated[str | None, typer.Option(
    "--backend", envvar="PLANTWIRE_BACKEND",
    help="A postgresql://user@host/db[?schema=name] URL: upgrade that database's schema.")]
UpgradeDir = Annotated[Path | None, typer.Option(
    "--data-dir", "-d", help="A hub's or edge agent's data directory: upgrade every SQLite file in it.")]
BackupDir = Annotated[Path, typer.Option(
    "--data-dir", "-d", envvar="PLANTWIRE_DATA_DIR", help="The data directory to copy (the hub may run).")]
RestoreDir = Annotated[Path, typer.Option(
    "--data-dir", "-d", help="A new (absent or empty) directory to restore into.")]


@db.command("upgrade")
def db_upgrade(backend: UpgradeBackend = None, data_dir: UpgradeDir = None) -> None:
    """Upgrade the PostgreSQL schema named by --backend (safe to run from many hosts), or every
    SQLite file in --data-dir (with the hub stopped; back it up first): exactly one of the two."""
    from plantwire.errors import PlantwireError

    if backend == "sqlite":  # PLANTWIRE_BACKEND=sqlite in the environment names no database
        backend = None
    if (backend is None) == (data_dir is None):
        fail("give exactly one of --backend postgresql://... and --data-dir DIR")
    try:
        if data_dir is not None:
            _upgrade_sqlite(data_dir)
        else:
            assert backend is not None
            _upgrade_postgres(backend)
    except PlantwireError as exc:
        fail(str(exc))


def _upgrade_sqlite(data_dir: Path) -> None:
    from plantwire.journal.sqlite_schema import upgrade_data_dir

    for done in upgrade_data_dir(data_dir):
        change = "already at" if done.before == done.after else f"upgraded from {done.before} to"
        console.print(f"{done.path}: {change} schema version {done.after}", highlight=False,
                      soft_wrap=True)


def _upgrade_postgres(backend: str) -> None:
    from plantwire.journal.postgres import PgTarget, is_postgres_url, upgrade

    if not is_postgres_url(backend):
        fail("--backend must be a postgresql:// URL (for SQLite files, use --data-dir)")
    target = PgTarget.from_url(backend)
    console.print(f"schema {target.schema!r} is at revision {upgrade(target)}", soft_wrap=True)


def _summary(manifest: dict[str, Any]) -> None:
    for name, store in manifest["stores"].items():
        rows = ", ".join(f"{n} {table}" for table, n in store["rows"].items())
        head = f", journal head #{store['head']}" if "head" in store else ""
        console.print(f"  {name}: schema version {store['schema_version']}, {rows}{head}",
                      highlight=False, soft_wrap=True)


def backup(file: Annotated[Path, typer.Argument(help="The archive to write (must not exist).")],
           data_dir: BackupDir) -> None:
    """Copy every SQLite file of a data directory into one archive, online (the hub may be
    ingesting): each file is one consistent snapshot, the state store before the journal."""
    from plantwire.errors import PlantwireError
    from plantwire.journal.backup import backup as make_backup

    try:
        manifest = make_backup(data_dir, file)
    except PlantwireError as exc:
        fail(str(exc))
        return
    console.print(f"backed up {data_dir} into {file} ({file.stat().st_size} bytes) at "
                  f"{manifest['created']}", highlight=False, soft_wrap=True)
    _summary(manifest)


def restore(file: Annotated[Path, typer.Argument(help="An archive written by `plantwire backup`.")],
            data_dir: RestoreDir) -> None:
    """Restore an archive into a new data directory, after checking every file against its
    manifest. Senders must then resend what they sent after the backup (docs/operations.md)."""
    from plantwire.errors import PlantwireError
    from plantwire.journal.backup import restore as bring_back

    try:
        manifest = bring_back(file, data_dir)
    except PlantwireError as exc:
        fail(str(exc))
        return
    console.print(f"restored {file} (made {manifest['created']} from {manifest['data_dir']}) "
                  f"into {data_dir}", highlight=False, soft_wrap=True)
    _summary(manifest)
