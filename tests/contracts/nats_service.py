"""NATS JetStream for tests: reach (or start) the local server, or fail under CI; a stream prefix
per test, deleted afterwards. Used by tests/distributed and by the deployment fixture
(tests/deployments.py), beside pg.py for PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import pytest

from plantwire.bus.nats import BusUrl, JetStreamBus

NATS_URL = os.environ.get("PLANTWIRE_TEST_NATS", "nats://127.0.0.1:4222")
START_NATS = ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/nats-server",
              "--", "-a", "127.0.0.1", "-p", "4222", "-js", "-sd", "/var/lib/nats-server",
              "-l", "/var/log/nats-server.log"]


def nats_reachable(url: str = NATS_URL) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=2):
            return True
    except OSError:
        return False


def ensure_nats(url: str = NATS_URL) -> None:
    """Make sure NATS answers; skip (locally) or fail (CI=true) when it cannot be had."""
    if nats_reachable(url):
        return
    subprocess.run(START_NATS, capture_output=True, timeout=30, check=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if nats_reachable(url):
            return
        time.sleep(0.25)
    message = f"NATS at {url} is not reachable after trying to start it"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)  # only off CI: under CI=true it failed above


def unique_bus_url(base: str, partitions: int = 4, order_check: bool = True) -> str:
    return f"{base}?prefix=t{uuid.uuid4().hex[:12]}&partitions={partitions}&order_check={int(order_check)}"


def drop_stream(url: str) -> None:
    bus = JetStreamBus(BusUrl.parse(url))
    try:
        bus.delete_stream()
    finally:
        bus.close()
