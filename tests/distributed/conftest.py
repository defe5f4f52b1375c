"""PostgreSQL and NATS JetStream for the distributed tests: reach (or start) them, or fail under CI.

Each test gets its own PostgreSQL schema (from ``tests/contracts/pg.py``) and its own stream prefix,
so runs by several engineers on one machine do not see each other's events; the stream is deleted
at the end. Only the chaos test restarts the services.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "contracts"))

from nats_service import (  # noqa: E402, F401  (the distributed tests import these from here)
    NATS_URL,
    START_NATS,
    drop_stream,
    ensure_nats,
    nats_reachable,
    unique_bus_url,
)
from pg import PgDatabase, pg_database  # noqa: E402, F401  (fixture used by name)


@pytest.fixture(scope="session")
def nats_server() -> str:
    ensure_nats()
    return NATS_URL


@pytest.fixture
def bus_url(nats_server: str) -> Iterator[str]:
    """A stream prefix of this test's own, deleted afterwards."""
    url = unique_bus_url(nats_server)
    yield url
    drop_stream(url)


@pytest.fixture
def pg_url(pg_database: PgDatabase, tmp_path: Path) -> str:  # noqa: F811
    return pg_database.url_for(tmp_path)
