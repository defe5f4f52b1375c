"""benchmarks/flows.py --quick runs end to end and prints its three figures (never asserted as timings)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "flows.py"


@pytest.mark.slow
def test_flows_bench_quick() -> None:
    proc = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"throughput: 300 completions .* = \d+ events/s", proc.stdout), proc.stdout
    assert re.search(r"hub/direct = \d+\.\d+", proc.stdout), proc.stdout
    assert re.search(r"p50 [\d.]+ ms, p99 [\d.]+ ms", proc.stdout), proc.stdout
