"""Smoke test of the ingest benchmark: `benchmarks/ingest.py --quick` runs and prints its ratios.

Only that it completes and reports; its timings are figures, never asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RATIO_LINES = (
    "(a) single-event ingest, req/s",
    "(a) durable events/s vs 1 fsync'd commit/event",
    "(a) events per commit (fsync)",
    "(b) batch 100, events/s",
    "(b) batch 1000, events/s",
    "(c) replay inventory, events/s",
    "(c) peak RSS, server / replay",
)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_quick_benchmark_runs_and_prints_ratios() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ingest.py"), "--quick"],
                          capture_output=True, text=True, timeout=220, cwd=ROOT)
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{out}\nstderr:\n{done.stderr}"
    assert "FAILED REQUESTS" not in out and "PROBLEM" not in out, out
    lines = out.splitlines()
    for label in RATIO_LINES:
        row = next((line for line in lines if line.startswith(label)), None)
        assert row is not None, f"no line {label!r} in:\n{out}"
    for label in RATIO_LINES[:2] + RATIO_LINES[3:6]:
        row = next(line for line in lines if line.startswith(label))
        ratio = row[len(label):].split()
        assert any(_is_ratio(tok) for tok in ratio), f"no ratio on {row!r}"


def _is_ratio(token: str) -> bool:
    try:
        return float(token) >= 0 and "." in token and "," not in token
    except ValueError:
        return False
