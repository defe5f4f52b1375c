"""Fixtures: the four simulators as real processes (one of each per test worker, started on first
use), a clean fault state around every test, and a real hub with its intake, on each deployment
(SQLite files embedded; PostgreSQL and JetStream distributed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from deployments import Deployment

from plantwire.bootstrap import Hub
from plantwire.clocks import SystemClock
from plantwire.simulators.testing import SimProcess


class Sims:
    """Starts each simulator once, on first use; kills them all at the end."""

    def __init__(self, root: Path) -> None:
        self.root, self.running = root, {}  # type: dict[str, SimProcess]

    def __call__(self, system: str) -> SimProcess:
        if system not in self.running:
            self.running[system] = SimProcess(system, self.root / system).start()
            with self.running[system].client() as c:
                if system == "wms":
                    c.put("/admin/settings", json={"autoConfirmSeconds": None}).raise_for_status()
                if system == "supplier":
                    c.put(
                        "/admin/rules", json={"ackDelaySeconds": 3600, "default": "accept"}
                    ).raise_for_status()
        return self.running[system]

    def clear_faults(self) -> None:
        for sim in self.running.values():
            with sim.client() as c:
                c.delete("/admin/faults").raise_for_status()

    def close(self) -> None:
        for sim in self.running.values():
            sim.kill()


@pytest.fixture(scope="session")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sims]:
    started = Sims(tmp_path_factory.mktemp("sims"))
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sims" in request.fixturenames:
        request.getfixturevalue("sims").clear_faults()


@pytest.fixture
def hub(deployment: Deployment) -> Hub:
    return deployment.hub(clock=SystemClock(), durable=True)  # closed by the deployment


def admin(sim: SimProcess) -> httpx.Client:
    """A client on a simulator (admin and business API)."""
    return sim.client()
