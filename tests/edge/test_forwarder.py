"""The forwarder against a real `plantwire serve`: down hub -> retries, rejected events stay visible."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from plantwire.clocks import SystemClock
from plantwire.domain.catalog import CATALOG
from plantwire.edge.forwarder import Forwarder, settlement
from plantwire.edge.intake import EdgeIntake
from plantwire.edge.metrics import EdgeMetrics
from plantwire.edge.outbox import Outbox
from plantwire.edge.settings import EdgeSettings
from plantwire.edge.status import event_status, full_status
from plantwire.service.retry import RetryPolicy

from .procs import BATCH, Hub, free_port

FAST_RETRY = RetryPolicy(max_attempts=1000, initial_interval=0.05, max_interval=0.2)


def forwarder(tmp_path: Path, hub_url: str, key: str | None) -> tuple[Outbox, EdgeIntake, Forwarder]:
    settings = EdgeSettings(hub_url=hub_url, data_dir=tmp_path / "edge", hub_key=key, retry=FAST_RETRY,
                            tick=0.05, batch_size=200)
    box = Outbox(settings.outbox_path)
    fwd = Forwarder(box, settings, SystemClock(), EdgeMetrics())
    return box, EdgeIntake(box, CATALOG, SystemClock(), on_stored=fwd.notify), fwd


async def run_until(fwd: Forwarder, done: Callable[[], bool], timeout: float = 60.0,
                    during: Callable[[], None] | None = None) -> None:
    task = asyncio.create_task(fwd.run())
    try:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"timed out; link {fwd.link.as_dict()}"
            if during is not None:
                await asyncio.to_thread(during)
                during = None
            await asyncio.sleep(0.05)
    finally:
        task.cancel()


def test_settlement_is_per_event() -> None:
    acked, failed = settlement([10, 11, 12], [
        {"index": 0, "status": "accepted", "seq": 5}, {"index": 1, "status": "duplicate", "seq": 3},
        {"index": 2, "status": "conflict", "errors": [{"rule": "identity-conflict"}]}])
    assert acked == [(10, 5), (11, 3)]
    assert failed[0][0] == 12 and "identity-conflict" in failed[0][1]


def test_hub_down_then_up_every_event_acknowledged(tmp_path: Path, day: list[dict[str, Any]]) -> None:
    hub = Hub(tmp_path)
    box, intake, fwd = forwarder(tmp_path, hub.url, hub.token)
    receipts = intake.accept_sync(day)
    attempts: list[int] = []

    def hub_comes_back() -> None:
        while fwd.link.failures < 3:  # the forwarder keeps trying while nothing listens
            time.sleep(0.02)
        attempts.append(fwd.link.failures)
        assert fwd.link.state == "down"
        hub.start()

    conn = box.reader()
    try:
        asyncio.run(run_until(fwd, lambda: full_status(conn, time.time())["backlog"]["total"] == 0,
                              during=hub_comes_back))
        assert attempts[0] >= 3 and fwd.link.state == "up"
        journal = {(src, eid): seq for seq, src, eid, _, _ in hub.journal()}
        assert len(journal) == len(day)
        for r in receipts:
            st = event_status(conn, r["seq"])
            assert st is not None and st["status"] == "acknowledged"
            assert st["hub_seq"] == journal[(r["source"], r["id"])]
    finally:
        conn.close()
        box.close()
        hub.kill()


def test_refused_at_hub_is_recorded_with_reason(tmp_path: Path, day: list[dict[str, Any]]) -> None:
    hub = Hub(tmp_path)
    hub.start()
    try:
        # the hub already holds this identity with other content: it must answer "conflict"
        other = dict(day[0], data={**day[0]["data"], "currency": "USD"})
        resp = httpx.post(f"{hub.url}/v1/events", content=orjson.dumps([other]),
                          headers={"content-type": BATCH, "authorization": f"Bearer {hub.token}"})
        assert resp.status_code == 202
        box, intake, fwd = forwarder(tmp_path, hub.url, hub.token)
        receipts = intake.accept_sync(day[:5])
        conn = box.reader()
        asyncio.run(run_until(fwd, lambda: full_status(conn, time.time())["backlog"]["total"] == 0))
        st = full_status(conn, time.time())
        assert st["failed_at_hub"]["count"] == 1
        failed = st["failed_at_hub"]["recent"][0]
        assert (failed["source"], failed["id"]) == (day[0]["source"], day[0]["id"])
        assert failed["status"] == "failed" and failed["reason"]["status"] == "conflict"
        assert [event_status(conn, r["seq"])["status"] for r in receipts[1:]] == ["acknowledged"] * 4  # type: ignore[index]
        conn.close()
        box.close()
    finally:
        hub.kill()


def test_wrong_key_is_unauthorized_and_nothing_is_dropped(tmp_path: Path,
                                                          day: list[dict[str, Any]]) -> None:
    hub = Hub(tmp_path)
    hub.start()
    try:
        box, intake, fwd = forwarder(tmp_path, hub.url, "pw_wrong")
        intake.accept_sync(day[:5])
        asyncio.run(run_until(fwd, lambda: fwd.link.failures >= 2))
        assert fwd.link.state == "unauthorized" and "401" in (fwd.link.last_error or "")
        conn = box.reader()
        assert full_status(conn, time.time())["backlog"]["total"] == 5
        conn.close()
        box.close()
    finally:
        hub.kill()


def test_nothing_listening_is_a_connect_error(tmp_path: Path, day: list[dict[str, Any]]) -> None:
    box, intake, fwd = forwarder(tmp_path, f"http://127.0.0.1:{free_port()}", None)
    receipts = intake.accept_sync(day[:3])
    asyncio.run(run_until(fwd, lambda: fwd.link.failures >= 3))
    conn = box.reader()
    assert event_status(conn, receipts[0]["seq"])["status"] == "pending"  # type: ignore[index]
    conn.close()
    box.close()
