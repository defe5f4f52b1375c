"""The delivery loops as a background thread: wakes on new journal entries, polls for retries."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import structlog

from plantwire.errors import StorageUnavailable

log = structlog.get_logger("plantwire.delivery")


def clashed(exc: StorageUnavailable) -> bool:
    """Whether it failed only because a concurrent transaction won (SQLSTATE class 40: serialization
    failure, deadlock), as opposed to storage being out of reach."""
    return str(getattr(exc.__cause__, "sqlstate", None) or "").startswith("40")


class Stepper(Protocol):
    """A loop body: does what is due now and says how much it did."""

    def step(self) -> int: ...


class DeliveryWorker:
    """Runs the delivery loops (dispatcher, command relay, timers) until stopped; `notify` wakes
    it at once after an append."""

    def __init__(self, steppers: Sequence[Stepper], poll_interval: float = 0.25,
                 coalesce: float = 0.005) -> None:
        self.steppers = list(steppers)
        self._poll = poll_interval
        self._coalesce = coalesce
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def notify(self) -> None:
        """New entries are in the journal."""
        self._wake.set()

    def start(self) -> None:
        """Start the loop in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current round and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        pause = self._poll
        while not self._stop.is_set():
            try:
                busy = sum(s.step() for s in self.steppers)
                pause = self._poll
            except StorageUnavailable as exc:
                if clashed(exc):  # another transaction won: go again now, nothing is down
                    continue
                log.warning("storage unavailable, backing off", error=str(exc), pause=pause)
                busy, pause = 0, min(pause * 2, 5.0)
            except Exception:  # a bug must not stop delivery for good: log it, back off, go on
                log.exception("delivery round failed")
                busy, pause = 0, min(pause * 2, 5.0)
            if not busy:
                if self._wake.wait(pause):
                    # let a few more group commits land, so one round delivers many events
                    self._stop.wait(self._coalesce)
                self._wake.clear()
