"""End-to-end helpers: real `plantwire serve` processes on loopback, driven over real HTTP.

Nothing here is mocked. A hub is the console script next to the interpreter running pytest,
started on a temporary data directory with an API key created first through the CLI, exactly as
an operator would. `HubProcess` can SIGKILL and restart it on the same data directory and port.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

PLANTWIRE = str(Path(sys.executable).parent / "plantwire")
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
KEY_NAME = "e2e"

Event = dict[str, Any]
Identity = tuple[str, str]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run `plantwire ARGS...` as a user would; with check, a non-zero exit fails the test."""
    proc = subprocess.run([PLANTWIRE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    if check and proc.returncode != 0:
        pytest.fail(f"`plantwire {' '.join(args)}` exited {proc.returncode}\n"
                    f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def identity(event: Event) -> Identity:
    """The idempotency identity of a CloudEvent dict."""
    return (event["source"], event["id"])


def as_structured(event: Event) -> tuple[dict[str, str], bytes]:
    """Headers and body of a structured-mode request for one event."""
    return {"content-type": STRUCTURED}, orjson.dumps(event)


def as_batch(events: Sequence[Event]) -> tuple[dict[str, str], bytes]:
    """Headers and body of a batch-mode request."""
    return {"content-type": BATCH}, orjson.dumps(list(events))


def as_binary(event: Event) -> tuple[dict[str, str], bytes]:
    """Headers and body of a binary-mode request: attributes in ce-* headers, data in the body."""
    headers = {f"ce-{k}": str(v) for k, v in event.items()
               if k not in ("data", "datacontenttype")}
    headers["content-type"] = event.get("datacontenttype") or "application/json"
    return headers, orjson.dumps(event["data"])


def stock_deltas(ev: Event) -> list[tuple[str, Decimal]]:
    """The stock changes of one event, written here from the business meaning, not the hub."""
    d = ev["data"]

    def key(item: str, loc: str, lot: str | None, uom: str) -> str:
        return "|".join((d["plant"], item, loc, lot or "", uom))

    def q(x: dict[str, str]) -> Decimal:
        return Decimal(x["value"])

    t = ev["type"]
    if t == "procurement.goods.received":
        return [(key(ln["item_id"], ln["storage_location"], ln.get("lot"), ln["quantity"]["uom"]),
                 q(ln["quantity"])) for ln in d["lines"]]
    if t == "production.component.consumed":
        return [(key(d["item_id"], d["storage_location"], d.get("lot"), d["quantity"]["uom"]),
                 -q(d["quantity"]))]
    if t == "production.goods.completed":
        return [(key(d["item_id"], d["storage_location"], d.get("lot"),
                     d["yield_quantity"]["uom"]), q(d["yield_quantity"]))]
    if t == "inventory.transferred":
        uom = d["quantity"]["uom"]
        return [(key(d["item_id"], d["from_location"], d.get("lot"), uom), -q(d["quantity"])),
                (key(d["item_id"], d["to_location"], d.get("lot"), uom), q(d["quantity"]))]
    return []


class HubProcess:
    """One `plantwire serve` on a data directory and port; start, SIGKILL, restart, stop."""

    def __init__(self, data_dir: Path, port: int, token: str, log_path: Path,
                 serve_args: tuple[str, ...] = ()) -> None:
        self.data_dir, self.port, self.token, self.log_path = data_dir, port, token, log_path
        self.serve_args = serve_args
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    # -- process control --------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until /healthz answers 200."""
        assert self.proc is None or self.proc.poll() is not None, "hub already running"
        with open(self.log_path, "ab") as log:
            log.write(f"--- start #{self.starts + 1} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [PLANTWIRE, "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
                 *self.serve_args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.starts += 1
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"hub exited with {self.proc.returncode} while starting:\n"
                                       f"{self.log_tail()}")
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"hub did not answer /healthz within {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush; what a power-cut-free crash looks like."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM and wait for a graceful exit (SIGKILL if it hangs)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        """SIGKILL (if running) and start again on the same data directory and port."""
        self.kill()
        self.start()

    def children_cpu(self) -> dict[str, float]:
        """CPU seconds so far of each child process of the hub, by its command line."""
        assert self.proc is not None
        out: dict[str, float] = {}
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[f"{pid} {cmd}"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- HTTP -------------------------------------------------------------------------------
    def client(self, token: str | None = None, timeout: float = 60.0) -> httpx.Client:
        """An HTTP client with the bearer token (the fixture's key unless another is given)."""
        return httpx.Client(base_url=self.base_url, timeout=timeout,
                            headers={"Authorization": f"Bearer {token or self.token}"})

    def wait_drained(self, timeout: float = 60.0) -> dict[str, Any]:
        """Poll /v1/status until every subscriber is at the head and nothing is retrying."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        with self.client() as client:
            while time.monotonic() < deadline:
                status = client.get("/v1/status").json()
                subs = status["subscribers"].values()
                if all(s["lag"] == 0 and s["retrying"] == 0 for s in subs):
                    return status
                time.sleep(0.1)
        raise AssertionError(f"hub did not drain within {timeout}s; last status: {status}")

    # -- CLI and files ------------------------------------------------------------------------
    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`plantwire ARGS... --data-dir D` on this hub's data directory."""
        return run_cli(*args, "--data-dir", str(self.data_dir), check=check)

    def cli_json(self, *args: str) -> Any:
        """The parsed JSON of `plantwire ARGS... --json --data-dir D`."""
        return orjson.loads(self.cli(*args, "--json").stdout)

    def journal_rows(self) -> list[tuple[int, str, str, str, str]]:
        """(seq, source, event_id, type, partition_key) of every journal row, by seq (read-only)."""
        conn = sqlite3.connect(f"file:{self.data_dir / 'journal.db'}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT seq, source, event_id, type, partition_key FROM journal "
                                "ORDER BY seq").fetchall()
        finally:
            conn.close()

    def tally(self) -> dict[Identity, Decimal]:
        """tally.events read through the hub's own state store: times each source+id took effect."""
        from plantwire.bootstrap import Settings, bootstrap
        from plantwire.projections.tally import EVENTS, SEP

        hub = bootstrap(Settings(data_dir=self.data_dir))
        try:
            with hub.state.transaction() as tx:
                rows = tx.scan(EVENTS)
        finally:
            hub.journal.close()
            hub.state.close()
        out: dict[Identity, Decimal] = {}
        for key, value in rows:
            source, _, event_id = key.partition(SEP)
            out[(source, event_id)] = Decimal(str(value))
        return out
