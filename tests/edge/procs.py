"""Real processes for the edge tests: `plantwire serve`, `plantwire edge`, and a TCP proxy to cut links.

Everything listens on 127.0.0.1. Processes are the console script next to the interpreter running
pytest, exactly as an operator starts them; SIGKILL means SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

PLANTWIRE = str(Path(sys.executable).parent / "plantwire")
BATCH = "application/cloudevents-batch+json"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`plantwire ARGS...`; with check, a non-zero exit raises with the output."""
    proc = subprocess.run([PLANTWIRE, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    if check and proc.returncode:
        raise AssertionError(f"plantwire {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


class Proc:
    """A child process that is ready once GET health_url answers 200."""

    def __init__(self, args: list[str], health_url: str, log_path: Path) -> None:
        self.args, self.health_url, self.log_path = args, health_url, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.args[1]} exited {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.health_url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.args} not healthy in {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it hangs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


class Hub(Proc):
    """`plantwire serve` on a fresh data directory with one API key."""

    def __init__(self, root: Path) -> None:
        self.data_dir = root / "hub"
        self.data_dir.mkdir(parents=True)
        self.token = cli("keys", "create", "edge", "--data-dir", str(self.data_dir)).stdout.strip()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key_file = root / "hub.key"
        self.key_file.write_text(self.token + "\n")
        super().__init__([PLANTWIRE, "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)],
                         f"{self.url}/healthz", root / "hub.log")

    def journal(self) -> list[tuple[int, str, str, str, str]]:
        """(seq, source, id, type, partition key) of every journal row, by seq."""
        import sqlite3

        conn = sqlite3.connect(f"file:{self.data_dir / 'journal.db'}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT seq, source, event_id, type, partition_key FROM journal "
                                "ORDER BY seq").fetchall()
        finally:
            conn.close()


class Edge(Proc):
    """`plantwire edge` on its own data directory, forwarding to hub_url."""

    def __init__(self, root: Path, hub_url: str, key_file: Path | None, *extra: str) -> None:
        self.data_dir = root / "edge"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [PLANTWIRE, "edge", "--hub", hub_url, "--data-dir", str(self.data_dir),
                "--port", str(self.port), *extra]
        if key_file is not None:
            args += ["--key-file", str(key_file)]
        super().__init__(args, f"{self.url}/healthz", root / "edge.log")

    def post(self, client: httpx.Client, events: list[dict[str, Any]]) -> httpx.Response:
        return client.post(f"{self.url}/v1/events", content=orjson.dumps(events),
                           headers={"content-type": BATCH})

    def status(self) -> Any:
        return orjson.loads(cli("edge", "status", "--data-dir", str(self.data_dir), "--json").stdout)


class TcpProxy:
    """A loopback TCP proxy, run on its own event loop thread, whose link can be cut and restored.

    Cut: every open connection is closed at once and new ones are accepted and closed immediately
    (what a dropped WAN link or a stateful firewall looks like to the client).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port, self.port = target_port, free_port()
        self.up = True
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_w))
        await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    def cut(self) -> None:
        """Drop the link: close every connection, refuse new ones."""
        def drop() -> None:
            self.up = False
            for w in list(self._writers):
                w.transport.abort()
            self._writers.clear()
        self._loop.call_soon_threadsafe(drop)

    def restore(self) -> None:
        """Let connections through again."""
        self._loop.call_soon_threadsafe(setattr, self, "up", True)

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
