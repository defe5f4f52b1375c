"""Clocks: the system's, and a manual one that tests move by hand."""

from __future__ import annotations

import threading
import time


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()


class ManualClock:
    """A clock that only moves when told to; for deterministic tests of retries and timers."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._t = start
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current fake time."""
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        with self._lock:
            self._t += seconds
