"""Session-wide: the `deployment` fixture (tests/deployments.py), and the formats conformance table
(issue: partner and ERP formats) printed at the end.

Each format's corpus conformance test writes tests/formats/_results/<format>.json; with xdist they
run in different workers, so the table is printed here, on the controller, once all have finished.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import leftovers
import pytest

pytest_plugins = ["deployments"]  # the `deployment` fixture: embedded and distributed (issue #6)

TRYTON_BEFORE = pytest.StashKey[bool]()
STRAYS = pytest.StashKey[dict[int, str]]()
RESULTS = Path(__file__).parent / "formats" / "_results"
COLUMNS = ("files", "parsed", "mapped", "round_tripped", "rejected_as_expected")


def conformance_rows() -> list[dict[str, Any]]:
    """The per-format counts written by this run's conformance tests."""
    rows = []
    for path in sorted(RESULTS.glob("*.json")):
        try:
            rows.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return rows


def pytest_sessionstart(session: Any) -> None:
    """Forget the last run's counts, so the table shows only this run's; note whether the Tryton
    rig was already serving (then the run leaves it so)."""
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist)
        for path in RESULTS.glob("*.json"):
            path.unlink(missing_ok=True)
        session.config.stash[TRYTON_BEFORE] = leftovers.tryton_running()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """On the controller, once every worker has ended: stop a Tryton this run started, and fail the
    run if any process a test launched is still alive (it is killed, and named)."""
    if hasattr(session.config, "workerinput"):
        return
    if not session.config.stash.get(TRYTON_BEFORE, True) and leftovers.tryton_running():
        leftovers.stop_tryton()
    left = leftovers.reap(session.config._tmp_path_factory.getbasetemp())
    if left:
        session.config.stash[STRAYS] = left
        session.exitstatus = 1


def _strays_report(terminalreporter: Any) -> None:
    left = terminalreporter.config.stash.get(STRAYS, {})
    if left:
        terminalreporter.write_sep("=", "processes tests started and left running (killed)", red=True)
        for pid, line in left.items():
            terminalreporter.write_line(f"{pid}: {line[:300]}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Processes left running, and the formats conformance table when any format test ran."""
    _strays_report(terminalreporter)
    rows = conformance_rows()
    if not rows:
        return
    tr = terminalreporter
    tr.section("formats conformance (corpus and fixtures)")
    tr.write_line(f"{'format':<28}" + "".join(f"{c:>22}" for c in COLUMNS) + f"{'failures':>10}")
    for r in rows:
        tr.write_line(f"{str(r.get('format', '?'))[:27]:<28}" + "".join(f"{r.get(c, 0):>22}" for c in COLUMNS)
                      + f"{len(r.get('failures', [])):>10}")
