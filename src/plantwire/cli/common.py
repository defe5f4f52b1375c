"""What every CLI command shares: the data-dir option, opening a hub, printing JSON or tables."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from plantwire.bootstrap import Hub, Settings, bootstrap
from plantwire.errors import PlantwireError

console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[Path, typer.Option(
    "--data-dir", "-d", envvar="PLANTWIRE_DATA_DIR", help="Where the hub keeps its SQLite files.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@contextmanager
def open_hub(data_dir: Path) -> Iterator[Hub]:
    """A hub on an existing data directory, closed afterwards; errors become exit code 1."""
    if not data_dir.exists():
        fail(f"data directory {data_dir} does not exist (start `plantwire serve --data-dir "
             f"{data_dir}` first, or pass --data-dir)")
    try:
        hub = bootstrap(Settings(data_dir=data_dir))
    except PlantwireError as exc:  # e.g. a schema newer than this plantwire: say so, no traceback
        fail(str(exc))
        raise
    try:
        yield hub
    except PlantwireError as exc:
        fail(str(exc))
    finally:
        hub.journal.close()
        hub.state.close()


def fail(message: str, code: int = 1) -> None:
    """Print an error and exit."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    """JSON on stdout, one document."""
    sys.stdout.write(orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


def when(ts: float | None) -> str:
    """An epoch time as ISO 8601 UTC, for tables."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def parse_time(value: str | None) -> float | None:
    """An ISO 8601 time (naive means UTC) as epoch seconds."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since must be an ISO 8601 time such as 2026-11-27T08:00:00Z, got {value!r}")
        raise
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
