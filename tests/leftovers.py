"""Tests stop what they start (issue #13 item 9), checked once the whole run has ended.

Every process a test launches (hubs, workers, simulators, edge agents, private nats-servers) runs on a
directory under pytest's temporary root, so its command line names that root. The rig's Tryton server
is the one shared server a run may start: it is stopped at the end when it was not running before.
Anything else still alive after a grace period is killed and fails the run, naming the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

TRYTON_PID = Path("/tmp/tryton-db/trytond.pid")
TRYTON_STOP = Path(__file__).resolve().parents[1].parent / "shared" / "rigs" / "tryton" / "stop.sh"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def tryton_running() -> bool:
    """Whether the rig's Tryton server (the pid it recorded) is alive."""
    try:
        pid = int(TRYTON_PID.read_text().strip())
    except (OSError, ValueError):
        return False
    return "trytond" in _cmdline(pid)


def stop_tryton() -> None:
    """Stop the rig's server with its own script (it kills only the pid it recorded)."""
    if TRYTON_STOP.exists():
        subprocess.run(["bash", str(TRYTON_STOP)], capture_output=True, timeout=60, check=False)


def strays(root: Path) -> dict[int, str]:
    """Processes other than this one whose command line names this run's temporary root (xdist
    workers' directories are under it; other runs on the machine have roots of their own)."""
    me, mark = os.getpid(), str(root)
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != me:
            line = _cmdline(int(entry.name))
            if mark in line and not _is_pytest(line):
                found[int(entry.name)] = line
    return found


def _is_pytest(line: str) -> bool:
    """Whether a command line is a pytest run itself (its program or first argument names pytest)."""
    return any("pytest" in word for word in line.split(" ")[:2])


def reap(root: Path, grace: float = 10.0) -> dict[int, str]:
    """Wait up to `grace` seconds for strays to end, SIGKILL the rest, and return what was left."""
    deadline = time.monotonic() + grace
    left = strays(root)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = strays(root)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return left
