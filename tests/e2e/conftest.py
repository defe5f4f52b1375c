"""Fixtures for the end-to-end tests: a free port, a running hub, a factory for more hubs.

The hubs are real `plantwire serve` processes (see hubs.py); nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .hubs import KEY_NAME, HubProcess, free_port, run_cli

HubFactory = Callable[..., HubProcess]


@pytest.fixture
def port() -> int:
    """A free loopback port."""
    return free_port()


@pytest.fixture
def hub_factory(tmp_path: Path) -> Iterator[HubFactory]:
    """Make started hubs on fresh data directories; every one is killed at teardown."""
    made: list[HubProcess] = []

    def make(name: str = "hub", start: bool = True, serve_args: tuple[str, ...] = ()) -> HubProcess:
        data_dir = tmp_path / name / "data"
        data_dir.mkdir(parents=True)
        token = run_cli("keys", "create", KEY_NAME, "--data-dir", str(data_dir)).stdout.strip()
        assert token.startswith("pw_"), token
        hub = HubProcess(data_dir, free_port(), token, tmp_path / name / "serve.log", serve_args)
        made.append(hub)
        if start:
            hub.start()
        return hub

    yield make
    for hub in made:
        hub.kill()


@pytest.fixture
def running_hub(hub_factory: HubFactory) -> HubProcess:
    """A real `plantwire serve` on a temporary data directory with one API key, killed after."""
    return hub_factory()
