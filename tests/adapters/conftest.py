"""Brokers for the adapter tests: the machine's Mosquitto, and a private one a test may restart.

When a broker cannot be had, tests skip on a developer machine and FAIL under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from adapter_fakes import PrivateBroker, reachable, wait_for

MOSQUITTO_CONF = "/etc/mosquitto/mosquitto.conf"


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the MQTT tests must run)")
    pytest.skip(reason)  # only off CI: under CI=true it failed above


@pytest.fixture(scope="session")
def broker_port() -> int:
    """The machine's Mosquitto on 127.0.0.1:1883, started if it is down."""
    if not reachable(1883):
        if shutil.which("mosquitto") is None:
            unavailable("mosquitto is not installed")
        subprocess.run(["mosquitto", "-d", "-c", MOSQUITTO_CONF], check=False)
        if not wait_for(1883, up=True):
            unavailable("Mosquitto on 127.0.0.1:1883 cannot be reached or started")
    return 1883


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    if shutil.which("mosquitto") is None:
        unavailable("mosquitto is not installed")
    broker = PrivateBroker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
