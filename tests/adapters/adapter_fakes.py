"""Test helpers for the plant-floor adapters: a durable fake intake and Sparkplug B payload builders."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from plantwire.adapters.sparkplug import sparkplug_b_pb2 as pb
from plantwire.errors import InvalidEvent, Issue


class SqliteIntake:
    """An Intake that keeps events in SQLite (insert-if-absent on source + id) before returning."""

    def __init__(self, path: Path, refuse_type: str | None = None) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS events (source TEXT, id TEXT, body TEXT, "
                        "PRIMARY KEY (source, id))")
        self.calls = 0
        self.refuse_type = refuse_type

    async def accept(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls += 1
        if any(e["type"] == self.refuse_type for e in events):
            raise InvalidEvent([Issue("$.type", "refused", "refused by the test")])
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?)",
                                [(e["source"], e["id"], json.dumps(e)) for e in events])
        return [{"status": "accepted", "id": e["id"]} for e in events]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(b) for (b,) in self.db.execute("SELECT body FROM events ORDER BY rowid")]

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM events").fetchone()[0])


T0 = 1_800_000_000_000


def metric(name: str | None, value: Any, datatype: int, alias: int | None = None,
           ts: int = T0) -> dict[str, Any]:
    return {"name": name, "value": value, "datatype": datatype, "alias": alias, "ts": ts}


def payload(seq: int | None, metrics: list[dict[str, Any]], ts: int = T0) -> bytes:
    """A Sparkplug B payload built with the Tahu protobuf, as an edge node would publish it."""
    message = pb.Payload(timestamp=ts)
    if seq is not None:
        message.seq = seq
    for m in metrics:
        out = message.metrics.add(timestamp=m["ts"], datatype=m["datatype"])
        if m["name"] is not None:
            out.name = m["name"]
        if m["alias"] is not None:
            out.alias = m["alias"]
        value = m["value"]
        if m["datatype"] == pb.Boolean:
            out.boolean_value = value
        elif m["datatype"] == pb.String:
            out.string_value = value
        elif m["datatype"] in (pb.Int64, pb.UInt64):
            out.long_value = value & ((1 << 64) - 1)
        else:
            out.int_value = value & ((1 << 32) - 1)
    return message.SerializeToString()


def nbirth(bd_seq: int, seq: int = 0, good: int = 100, order: str = "1000042", ts: int = T0) -> bytes:
    """An NBIRTH of a filler: bdSeq, rebirth control, order id, item, a good-parts counter."""
    return payload(seq, [
        metric("bdSeq", bd_seq, pb.UInt64, ts=ts),
        metric("Node Control/Rebirth", False, pb.Boolean, alias=1, ts=ts),
        metric("Order/Id", order, pb.String, alias=2, ts=ts),
        metric("Order/Item", "FG-PUMP-100", pb.String, alias=3, ts=ts),
        metric("Counters/Good", good, pb.UInt32, alias=4, ts=ts),
        metric("Order/Complete", False, pb.Boolean, alias=5, ts=ts),
    ], ts)


def dbirth(seq: int, resin: int = 500, ts: int = T0) -> bytes:
    """A DBIRTH of a dosing device with a resin counter (kg) and a signed temperature."""
    return payload(seq, [metric("Counters/Resin", resin, pb.UInt32, alias=10, ts=ts),
                         metric("Temperature", -5, pb.Int16, alias=11, ts=ts)], ts)


def ndata(seq: int, ts: int, **by_alias: Any) -> bytes:
    """NDATA with metrics by alias only (a4=105 sets alias 4)."""
    types = {1: pb.Boolean, 2: pb.String, 3: pb.String, 4: pb.UInt32, 5: pb.Boolean, 10: pb.UInt32}
    metrics = [metric(None, v, types[int(k[1:])], alias=int(k[1:]), ts=ts) for k, v in by_alias.items()]
    return payload(seq, metrics, ts)


def death(bd_seq: int) -> bytes:
    return payload(None, [metric("bdSeq", bd_seq, pb.UInt64)])


async def until(check: Callable[[], bool], seconds: float = 20.0) -> None:
    """Wait until `check()` holds, failing after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def reachable(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(port: int, up: bool, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if reachable(port) == up:
            return True
        time.sleep(0.05)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """A Mosquitto of the test's own, with persistence in a temporary folder, that it can restart."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                             f"persistence_location {folder}/\nmax_queued_messages 100000\n"
                             f"log_dest file {folder}/mosquitto.log\n")
        if os.geteuid() == 0:  # else Mosquitto drops to its own user, who cannot write the temp folder
            self.conf.write_text(self.conf.read_text() + "user root\n")
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        if not wait_for(self.port, up=True):
            raise RuntimeError(f"private mosquitto on port {self.port} did not start")

    def stop(self) -> None:
        """SIGTERM, as `kill` does: Mosquitto writes its persistence file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1
