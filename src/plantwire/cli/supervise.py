"""`serve`'s child processes: delivery in a `plantwire worker` (ingest keeps its own core and GIL),
more ingest processes on the same port (`serve --ingest-processes N`). Each child dies with its
parent, even on SIGKILL (Linux PR_SET_PDEATHSIG), and is restarted with backoff if it dies alone."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import structlog

from plantwire.processes import stop_process

log = structlog.get_logger("plantwire.supervise")
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):  # not Linux: the parent's shutdown still stops the child
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class WorkerProcess:
    """Keeps one `plantwire <command>` child running (restarted with backoff if it dies) until
    stopped; by default the delivery worker."""

    def __init__(self, args: Sequence[str], command: str = "worker") -> None:
        self.command = command
        self._cmd = [str(Path(sys.executable).parent / "plantwire"), command, *args]
        self._proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        """Start the child and watch it."""
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        self._proc = subprocess.Popen(self._cmd, preexec_fn=_die_with_parent)  # noqa: PLW1509

    def _watch(self) -> None:
        pause = 0.5
        while not self._stop.wait(0.5):
            proc = self._proc
            if proc is not None and proc.poll() is not None and not self._stop.is_set():
                log.warning("child exited, restarting", command=self.command, code=proc.returncode,
                            pause=pause)
                if self._stop.wait(pause):
                    return
                pause = min(pause * 2, 10.0)
                self._spawn()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child (SIGTERM, then SIGKILL)."""
        self._stop.set()
        proc = self._proc
        if proc is not None:
            stop_process(proc, timeout=timeout)
