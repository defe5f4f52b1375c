"""Smoke runs of every benchmark: `python benchmarks/<name>.py --quick` completes (issue #18 item 8).

Each runs as a subprocess with a timeout and fails on a non-zero exit, a traceback or a line the
benchmark prints when a request failed; timings and ratios are figures, never asserted. Where a
benchmark's report has fixed labels (ingest, soak) their presence is checked, so a phase that
silently stopped printing is noticed. distributed.py and postgres_journal.py use PostgreSQL
(127.0.0.1:5432, db test) and NATS (127.0.0.1:4222), started if need be as tests/deployments.py
does: off CI their absence skips those two, with CI=true it fails them.

Not benchmarks, so not run here: benchmarks/loadgen.py (the load generator ingest.py and soak.py
start, run by both) and benchmarks/noop_asgi.py (ingest.py's baseline ASGI app, served by it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "contracts"))

from nats_service import ensure_nats  # noqa: E402
from pg import ensure_server  # noqa: E402

BENCHMARKS = ("distributed", "edge", "flows", "formats", "formats_b2mml", "formats_edifact", "formats_sap",
              "formats_x12", "ingest", "postgres_journal", "replay_probe", "soak")
NEEDS_SERVICES = {"distributed": ("pg", "nats"), "postgres_journal": ("pg",)}
NOT_BENCHMARKS = {"loadgen", "noop_asgi"}
TIMEOUT = 180
FAILURE_MARKS = ("Traceback (most recent call last)", "FAILED REQUESTS", "PROBLEM(S)", "EVENTS LOST")
# report lines that must be there (labels only; the figures after them are not looked at)
EXPECTED = {
    "ingest": ("(a) single-event ingest, req/s", "(a) durable events/s vs 1 fsync'd commit/event",
               "(a) events per commit (fsync)", "(b) batch 100, events/s", "(b) batch 1000, events/s",
               "(c) replay inventory, events/s", "(c) peak RSS, server / replay"),
    "soak": ("events sent", "events accepted", "journal head", "nothing lost           yes", "peak RSS",
             "RSS slope, 2nd half", "ingest + delivery"),
    "replay_probe": ('"replayed": ',),
}


def test_every_benchmark_is_smoke_run() -> None:
    found = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    assert found - NOT_BENCHMARKS == set(BENCHMARKS), "a benchmark was added or removed: list it here"


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("name", BENCHMARKS)
def test_quick_run(name: str) -> None:
    needs = NEEDS_SERVICES.get(name, ())
    if "pg" in needs:
        ensure_server()
    if "nats" in needs:
        ensure_nats()
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick"],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    both = f"exit {done.returncode}\nstdout:\n{done.stdout[-6000:]}\nstderr:\n{done.stderr[-6000:]}"
    assert done.returncode == 0, both
    for mark in FAILURE_MARKS:
        assert mark not in done.stdout and mark not in done.stderr, both
    assert done.stdout.strip(), f"{name} printed nothing\n{both}"
    lines = done.stdout.splitlines()
    for label in EXPECTED.get(name, ()):
        assert any(line.startswith(label) or label in line for line in lines), f"no {label!r}\n{both}"
