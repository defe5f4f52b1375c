"""A small closed-loop HTTP/1.1 load generator for the ingest benchmark (127.0.0.1 only).

Run as its own process (the benchmark pins it to another core than the server):

    python benchmarks/loadgen.py SPEC.json

SPEC is a JSON object: ``port``, ``requests`` (a file written with ``marshal``: one list of
complete prebuilt HTTP/1.1 requests per connection), ``max_seconds`` and optional ``expect`` (the
status every response must have, default 202). Each connection keeps one request in flight on a
persistent connection and sends its own requests in order (so a sender's events are journaled in
the order it sent them), until they run out or ``max_seconds`` have passed. Responses are parsed
minimally (status
line and Content-Length). Prints one JSON object: completed, statuses, errors (first ones, with
body excerpts), events accepted (the receipts' ``accepted`` counts), elapsed seconds, latency
percentiles and the generator's own CPU use.
"""

from __future__ import annotations

import asyncio
import json
import marshal
import resource
import sys
import time
from array import array
from typing import Any

HOST = "127.0.0.1"
MAX_ERRORS_KEPT = 10
RESPONSE_TIMEOUT = 60.0


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Run:
    """Shared state of one load run (single event loop: no locks needed)."""

    def __init__(self, total: int, deadline: float, expect: int) -> None:
        self.total, self.deadline, self.expect = total, deadline, expect
        self.sent = 0
        self.completed = 0
        self.accepted = 0
        self.statuses: dict[int, int] = {}
        self.errors: list[str] = []
        self.error_count = 0
        self.latencies = array("d")


    def error(self, text: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(text)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server will close the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        length = int(lower[at + 17 : end])
    elif b"transfer-encoding: chunked" in lower:
        raise ValueError("chunked responses are not expected from the ingest endpoint")
    body = await reader.readexactly(length) if length else b""
    return status, body, b"\r\nconnection: close" in lower


async def _connection(run: Run, port: int, requests: list[bytes], start: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    await start.wait()
    lat = run.latencies
    clock = time.perf_counter
    try:
        for req in requests:
            t0 = clock()
            if t0 >= run.deadline:
                return
            run.sent += 1
            try:
                writer.write(req)
                status, body, closing = await asyncio.wait_for(_read_response(reader), RESPONSE_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError) as exc:
                run.error(f"transport error: {type(exc).__name__}: {exc}")
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
                continue
            lat.append(time.perf_counter() - t0)
            run.completed += 1
            run.statuses[status] = run.statuses.get(status, 0) + 1
            run.accepted += _accepted(body)
            if status != run.expect:
                run.error(f"HTTP {status}: {body[:300]!r}")
            if closing:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()


def _accepted(body: bytes) -> int:
    """The ``accepted`` count of an ingest receipt (0 when the body has none)."""
    at = body.find(b'"accepted":')
    if at < 0:
        return 0
    digits = body[at + 11 : at + 31].split(b",", 1)[0].split(b"}", 1)[0].strip()
    return int(digits) if digits.isdigit() else 0


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


async def main_async(spec: dict[str, Any]) -> dict[str, Any]:
    with open(spec["requests"], "rb") as f:
        per_connection: list[list[bytes]] = marshal.load(f)
    start = asyncio.Event()
    run = Run(sum(map(len, per_connection)), float("inf"), int(spec.get("expect", 202)))
    tasks = [asyncio.ensure_future(_connection(run, int(spec["port"]), reqs, start))
             for reqs in per_connection]
    await asyncio.sleep(0.05)  # let every connection open before the clock starts
    cpu0, t0 = _cpu(), time.perf_counter()
    run.deadline = t0 + float(spec["max_seconds"])
    start.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    for r in results:
        if isinstance(r, BaseException):
            run.error(f"connection failed: {type(r).__name__}: {r}")
    lat = sorted(run.latencies)
    return {
        "completed": run.completed, "sent": run.sent, "accepted": run.accepted,
        "statuses": {str(k): v for k, v in run.statuses.items()},
        "error_count": run.error_count, "errors": run.errors, "elapsed": elapsed,
        "p50": _percentile(lat, 0.50), "p90": _percentile(lat, 0.90), "p99": _percentile(lat, 0.99),
        "max": lat[-1] if lat else float("nan"), "loadgen_cpu": cpu / elapsed if elapsed else 0.0,
        "exhausted": run.sent >= run.total,
    }


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    try:
        import uvloop
    except ImportError:
        out = asyncio.run(main_async(spec))
    else:
        out = uvloop.run(main_async(spec))
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
