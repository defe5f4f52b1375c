"""Fixtures for the value-stream proofs: the four simulators and a hub wired to them, as real
processes on 127.0.0.1 (`plantwire.cli.demo.Stack`), and the checks every proof shares."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plantwire.cli.demo import Stack
from plantwire.projections.atp import NAMESPACES as ATP_NAMESPACES

PLANTWIRE = str(Path(sys.executable).parent / "plantwire")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Four simulators and `plantwire serve --erp .. --mes .. --wms .. --supplier ..`."""
    started = Stack(tmp_path).start()
    try:
        yield started
    finally:
        started.close()


def atp_state(stack: Stack) -> dict[str, list[tuple[str, bytes]]]:
    """Every namespace of the ATP projection, the stored bytes of each key, in key order."""
    conn = sqlite3.connect(f"file:{stack.data_dir / 'state.db'}?mode=ro", uri=True)
    try:
        return {ns: [(k, bytes(v)) for k, v in conn.execute(
            "SELECT key, value FROM kv WHERE ns = ? ORDER BY key", (ns,))] for ns in ATP_NAMESPACES}
    finally:
        conn.close()


def replay_atp(stack: Stack) -> str:
    """`plantwire replay --subscriber atp` on the (stopped) hub's data directory."""
    proc = subprocess.run([PLANTWIRE, "replay", "--subscriber", "atp", "--data-dir", str(stack.data_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
