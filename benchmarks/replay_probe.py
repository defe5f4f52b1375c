"""Replay half of the ingest benchmark, in its own process so its peak RSS is its own.

    python benchmarks/replay_probe.py DATA_DIR
    python benchmarks/replay_probe.py --quick     # a smoke run on 2,000 events in a temporary directory

Opens the hub on DATA_DIR (``bootstrap``), first lets delivery catch up (untimed), then times a
raw read of the rows the inventory subscriber covers (``SELECT body`` + ``orjson.loads``) and
``hub.replayer.replay("inventory")`` over the same journal. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
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


def seed(data_dir: Path, events: int) -> None:
    """Journal `events` events of a plant day into a new hub on data_dir (for --quick)."""
    from plantwire.simulators.scenario import plant_day

    hub = bootstrap(Settings(data_dir=data_dir))
    try:
        batch: list[dict[str, object]] = []
        for n, event in enumerate(plant_day(orders=events), 1):
            batch.append(event)
            if len(batch) == 500 or n == events:
                hub.ingest.submit_sync(batch)
                batch = []
            if n == events:
                break
    finally:
        hub.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, help="the hub's data directory (an existing one)")
    parser.add_argument("--quick", action="store_true",
                        help="probe a new hub holding 2,000 plant-day events, in a temporary directory")
    args = parser.parse_args()
    if args.quick:
        with tempfile.TemporaryDirectory(prefix="plantwire-replay-") as tmp:
            seed(Path(tmp), 2000)
            probe(Path(tmp))
        return
    if args.data_dir is None or not (args.data_dir / JOURNAL_FILE).exists():
        parser.error(f"no hub journal in {args.data_dir} (give a data directory, or --quick)")
    probe(args.data_dir)


def probe(data_dir: Path) -> None:
    """Drain delivery, then time the raw read and the inventory replay; print one JSON object."""
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
