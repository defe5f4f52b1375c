"""What every fuzz target shares: its hypothesis settings, the bounded call, and the figures.

`bounded(target, call)` runs one input: an exception that is not a PlantwireError fails the test (as
does a PlantwireError an adapter raises without a located issue), and so does an input that takes
more than DEADLINE_S or allocates more than MEMORY_LIMIT. Memory is measured twice, because lxml and
protobuf allocate outside Python's allocator: tracemalloc's peak for the Python heap, and the growth
of the process's resident set across the call for everything else.

Settings come from the environment, so the same tests are the bounded CI run and the long campaign
(scripts/fuzz):
- PLANTWIRE_FUZZ_EXAMPLES: inputs per target (default 100: the whole directory in well under 90 s);
- PLANTWIRE_FUZZ_SECONDS: a time budget per target; its test then stops, as skipped (default none);
- PLANTWIRE_FUZZ_STATS: a JSON file the per-target figures are merged into at the end of the run;
- PLANTWIRE_FUZZ_KEEP_GOING=1: a failing input is counted, reported on stderr and not raised, so a
  campaign counts every failure instead of stopping at the first (CI leaves it off).
"""

from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from plantwire.errors import InvalidEvent, PlantwireError

DEADLINE_S = 1.0
MEMORY_LIMIT = 64 * 1024 * 1024
EXAMPLES = int(os.environ.get("PLANTWIRE_FUZZ_EXAMPLES", "100"))
BUDGET_S = float(os.environ.get("PLANTWIRE_FUZZ_SECONDS", "0")) or None
KEEP_GOING = os.environ.get("PLANTWIRE_FUZZ_KEEP_GOING") == "1"

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None if KEEP_GOING else int(DEADLINE_S * 1000),  # a campaign counts hangs itself
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.function_scoped_fixture],
    print_blob=True,  # a failure prints @reproduce_failure(...) to paste above the test
)
"""The settings of every fuzz test (applied per test, never as a global profile)."""


@dataclass
class Figures:
    """What one target saw."""

    inputs: int = 0
    refused: int = 0
    failures: int = 0
    server_errors: int = 0
    known_server_errors: int = 0
    hangs: int = 0
    slowest_s: float = 0.0
    peak_python_bytes: int = 0
    peak_rss_growth_bytes: int = 0
    first_failure: str = ""
    known: list[str] = field(default_factory=list)


FIGURES: dict[str, Figures] = {}
_STARTED: dict[str, float] = {}


def spent(target: str) -> bool:
    """Stop the target's test (as skipped: hypothesis lets a skip through at once) when its time
    budget is used up; only campaigns set one."""
    first = _STARTED.setdefault(target, time.monotonic())
    if BUDGET_S is not None and time.monotonic() - first > BUDGET_S:
        done = FIGURES.get(target, Figures()).inputs
        pytest.skip(f"{target}: time budget of {BUDGET_S:.0f} s spent after {done} inputs")
    return False


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fail(target: str, message: str) -> None:
    """Count a failure; raise it unless the campaign keeps going."""
    figures = FIGURES.setdefault(target, Figures())
    figures.failures += 1
    figures.first_failure = figures.first_failure or message[:500]
    if KEEP_GOING:
        print(f"FUZZ FAILURE {target}: {message[:2000]}", file=sys.stderr)
        return
    raise AssertionError(f"{target}: {message}")


def bounded(target: str, call: Callable[[], Any], *, located: bool = True) -> Any:
    """Run one input within the bounds; its result, or None when the input was refused (or skipped).

    `located`: an InvalidEvent must name where (a non-empty path on every issue)."""
    if spent(target):
        return None
    figures = FIGURES.setdefault(target, Figures())
    figures.inputs += 1
    if not tracemalloc.is_tracing():
        tracemalloc.start()
    tracemalloc.reset_peak()
    baseline, _ = tracemalloc.get_traced_memory()  # what is live already (hypothesis keeps inputs)
    rss = _rss()
    began = time.perf_counter()
    result, problem = None, ""
    try:
        result = call()
    except PlantwireError as error:
        figures.refused += 1
        if located and isinstance(error, InvalidEvent) and (
                not error.issues or not all(i.path for i in error.issues)):
            problem = f"refusal without a location: {error!r}"
        elif located and not isinstance(error, InvalidEvent):
            problem = f"refusal that is not a located InvalidEvent: {type(error).__name__}: {error}"
    except Exception as error:  # the point of fuzzing: anything else is a bug
        problem = f"{type(error).__name__} escaped: {str(error)[:300]}"
    over = _measure(figures, began, rss, baseline)
    for message in (problem, over):
        if message:
            fail(target, message)
    return result


def _measure(figures: Figures, began: float, rss: int, baseline: int) -> str:
    """Record time and memory of the input just run; what it broke, if anything."""
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1] - baseline
    growth = max(0, _rss() - rss)
    figures.slowest_s = max(figures.slowest_s, elapsed)
    figures.peak_python_bytes = max(figures.peak_python_bytes, peak)
    figures.peak_rss_growth_bytes = max(figures.peak_rss_growth_bytes, growth)
    if elapsed > DEADLINE_S:
        figures.hangs += 1
        return f"one input took {elapsed:.2f} s (limit {DEADLINE_S} s)"
    if peak > MEMORY_LIMIT or growth > MEMORY_LIMIT:
        return (f"one input used {peak / 2**20:.0f} MB of Python heap and grew the process by "
                f"{growth / 2**20:.0f} MB (limit {MEMORY_LIMIT / 2**20:.0f} MB)")
    return ""


def write_figures() -> None:
    """Merge this process's figures into PLANTWIRE_FUZZ_STATS (one JSON object per target)."""
    path = os.environ.get("PLANTWIRE_FUZZ_STATS")
    if not path or not FIGURES:
        return
    target = Path(path)
    merged: dict[str, Any] = json.loads(target.read_text()) if target.exists() else {}
    merged.update({name: asdict(f) for name, f in FIGURES.items()})
    target.write_text(json.dumps(merged, indent=2, sort_keys=True))


def answered(target: str, send: Callable[[], Any], what: str, known: str = "") -> Any:
    """Send one request (`send` returns an httpx.Response): no 5xx, and an answer within DEADLINE_S.

    A slow answer is sent once more before it counts as a hang, so a scheduler hiccup on a shared CI
    core is not reported as one; a hang reproduces. `what` describes the request for the report.
    `known` names a known, reported bug the request matches (see KNOWN in test_fuzz_routes.py): its
    5xx or dropped connection is counted as `known_server_errors`, not failed; anything else still is."""
    if spent(target):
        return None
    figures = FIGURES.setdefault(target, Figures())
    figures.inputs += 1
    response, elapsed = _timed(send)
    if response is not None and elapsed > DEADLINE_S:
        response, elapsed = _timed(send)
    figures.slowest_s = max(figures.slowest_s, elapsed)
    if known and (response is None or response.status_code >= 500):
        figures.known_server_errors += 1
        figures.known = sorted({*figures.known, known})
        return response
    if response is None:
        figures.hangs += 1
        fail(target, f"no answer (connection failed or timed out after {elapsed:.1f} s) to {what}")
    elif response.status_code >= 500:
        figures.server_errors += 1
        fail(target, f"{response.status_code} for {what}: {response.text[:300]}")
    elif elapsed > DEADLINE_S:
        figures.hangs += 1
        fail(target, f"answered in {elapsed:.2f} s twice (limit {DEADLINE_S} s): {what}")
    elif response.status_code >= 400:
        figures.refused += 1
    return response


def _timed(send: Callable[[], Any]) -> tuple[Any, float]:
    import httpx

    began = time.perf_counter()
    for _ in range(2):  # a server closes its connection after a 5xx; the pooled one then fails once
        try:
            return send(), time.perf_counter() - began
        except httpx.TransportError:
            began = time.perf_counter()
    return None, time.perf_counter() - began
