"""Replay half of the ingest benchmark, in its own process so its peak RSS is its own.

    python benchmarks/replay_probe.py DATA_DIR

Opens the hub on DATA_DIR (``bootstrap``), first lets delivery catch up (untimed), then times a
raw read of the rows the inventory subscriber covers (``SELECT body`` + ``orjson.loads``) and
``hub.replayer.replay("inventory")`` over the same journal. Prints one JSON object.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

import orjson

from plantwire.bootstrap import JOURNAL_FILE, Settings, bootstrap
from plantwire.service import bookkeeping as books


def vm(field: str) -> int:
    """A /proc/self/status figure in KiB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def raw_read(db: Path, upto: int, types: list[str]) -> tuple[int, float]:
    """Rows of the given types up to a seq: SELECT body and orjson.loads each; (count, seconds)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    marks = ",".join("?" * len(types))
    t0 = time.perf_counter()
    n = 0
    loads = orjson.loads
    for (body,) in conn.execute(
            f"SELECT body FROM journal WHERE seq <= ? AND type IN ({marks}) ORDER BY seq", (upto, *types)):
        loads(body)
        n += 1
    seconds = time.perf_counter() - t0
    conn.close()
    return n, seconds


def main() -> None:
    data_dir = Path(sys.argv[1])
    hub = bootstrap(Settings(data_dir=data_dir))
    t0 = time.perf_counter()
    hub.dispatcher.drain()
    drain_s = time.perf_counter() - t0
    inventory = next(s for s in hub.subscribers if s.name == "inventory")
    with hub.state.transaction() as tx:
        upto = books.cursor(tx, inventory.name)
    head = hub.journal.head()
    types = sorted(inventory.types)
    raw_read(data_dir / JOURNAL_FILE, upto, types)  # warm the page cache for both readers
    raw_n, raw_s = raw_read(data_dir / JOURNAL_FILE, upto, types)
    rss_before = vm("VmRSS")
    peak_reset = reset_peak()
    t0 = time.perf_counter()
    report = hub.replayer.replay(inventory.name)
    replay_s = time.perf_counter() - t0
    out = {
        "journal_head": head, "inventory_position": upto, "drain_seconds": drain_s,
        "raw_rows": raw_n, "raw_seconds": raw_s,
        "replayed": report.replayed, "selected": report.selected, "skipped_held": report.skipped_held,
        "replay_seconds": replay_s,
        "rss_before_kib": rss_before, "peak_kib": vm("VmHWM"), "peak_reset": peak_reset,
    }
    hub.close()
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
