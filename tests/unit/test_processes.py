"""stop_process: a polite signal first, SIGKILL only for a child that hangs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from plantwire.processes import stop_process

WAITS = "import time\nprint('ready', flush=True)\ntime.sleep(60)"
IGNORES = ("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
           "print('ready', flush=True)\ntime.sleep(60)")


def started(code: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


def test_a_child_that_obeys_ends_by_the_signal_sent() -> None:
    assert stop_process(started(WAITS), signal.SIGTERM, 5) == -signal.SIGTERM


def test_a_child_that_ignores_the_signal_is_killed_after_the_timeout() -> None:
    t0 = time.monotonic()
    assert stop_process(started(IGNORES), signal.SIGTERM, 0.5) == -signal.SIGKILL
    assert 0.5 <= time.monotonic() - t0 < 5


def test_a_child_already_gone_is_left_alone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    assert stop_process(proc) == 3
