"""The agent as a process: 202 + status URL lifecycle, 422 with paths, 507 when full, `edge status`,
and surviving its own SIGKILL with every acknowledged event still in the outbox."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from plantwire.simulators.scenario import plant_day

from .procs import Edge, Hub, cli


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


@pytest.fixture
def hub_and_edge(tmp_path: Path) -> Any:
    hub = Hub(tmp_path)  # not started: the agent starts with its link down
    edge = Edge(tmp_path, hub.url, hub.key_file, "--alarm-backlog", "100")
    edge.start()
    yield hub, edge
    edge.kill()
    hub.kill()


def test_status_url_lifecycle_pending_to_acknowledged(hub_and_edge: Any, day: list[dict[str, Any]]) -> None:
    hub, edge = hub_and_edge
    with httpx.Client(base_url=edge.url, timeout=30) as client:
        resp = edge.post(client, day[:150])
        assert resp.status_code == 202, resp.text
        receipt = resp.json()["results"][0]
        assert receipt["status"] == "accepted" and receipt["status_url"].startswith("/v1/outbox/")
        assert client.get(receipt["status_url"]).json()["status"] in ("pending", "forwarded")
        # backlog 150 > alarm at 100: raised while the hub is away, visible in `edge status`
        st = wait_for(lambda: (s := edge.status())["alarms"] and s)
        assert "backlog-count" in st["alarms"] and st["link"]["state"] == "down"
        # the 150 events, and the alarm event queued for the hub ahead of them (high priority)
        assert st["backlog"]["total"] == 151
        assert set(st["backlog"]["by_priority"]) >= {"high", "normal", "low"}
        assert "plantwire_edge_alarm{kind=\"backlog-count\"} 1.0" in client.get("/metrics").text
        human = cli("edge", "status", "--data-dir", str(edge.data_dir)).stdout
        assert "ALARM backlog-count" in human and "link: down" in human
        hub.start()
        done = wait_for(lambda: (r := client.get(receipt["status_url"]).json())["status"] == "acknowledged"
                        and r)
        assert done["hub_seq"] >= 1 and done["meaning"] == "journaled by the hub"
        st = wait_for(lambda: (s := edge.status())["backlog"]["total"] == 0 and not s["alarms"] and s)
        assert st["link"]["state"] == "up" and st["last_forward_at"] is not None
        assert st["backlog"]["peak"] >= 150
        found = client.get("/v1/outbox/lookup", params={"source": day[0]["source"], "id": day[0]["id"]})
        assert found.json()["status"] == "acknowledged"
    assert "edge.backlog.alarm" in edge.log() and '"state": "cleared"' in edge.log()
    alarms = [r for r in hub.journal() if r[3].startswith("edge.alarm.")]
    assert alarms and alarms[0][3] == "edge.alarm.raised" and alarms[0][1].startswith("edge/")


def test_invalid_and_mixed_batches(hub_and_edge: Any, day: list[dict[str, Any]]) -> None:
    _, edge = hub_and_edge
    bad = dict(day[3], data={**day[3]["data"], "quantity": {"value": "12,5", "uom": ""}})
    with httpx.Client(base_url=edge.url, timeout=30) as client:
        resp = edge.post(client, [bad])
        assert resp.status_code == 422
        assert resp.json()["results"][0]["errors"][0]["path"].startswith("$.data.quantity")
        assert edge.post(client, [bad, day[4]]).status_code == 207
        single = client.post("/v1/events", content=orjson.dumps(day[5]),
                             headers={"content-type": "application/cloudevents+json"})
        assert single.status_code == 202
        broken = client.post("/v1/events", content=b"[{", headers={"content-type": "application/"
                                                                    "cloudevents-batch+json"})
        assert broken.status_code == 400 and broken.json()["error"]["rule"] == "invalid-json"
        assert client.get("/v1/outbox/999999").status_code == 404


def test_full_outbox_answers_507_and_raises_alarm(tmp_path: Path) -> None:
    edge = Edge(tmp_path, "http://127.0.0.1:9", None, "--max-outbox-mb", "1")
    edge.start()
    try:
        events = list(plant_day("1000", 200))
        codes = []
        with httpx.Client(base_url=edge.url, timeout=30) as client:
            for i in range(40):
                resp = edge.post(client, [dict(e, id=f"{e['id']}#{i}") for e in events[:100]])
                codes.append(resp.status_code)
                if resp.status_code == 507:
                    assert resp.json()["error"]["rule"] == "outbox-full"
                    break
        assert codes[-1] == 507 and set(codes[:-1]) == {202}
        st = wait_for(lambda: (s := edge.status())["alarms"].get("outbox-full") and s)
        # all kept, none half-written; the alarm event for the hub fits in too when a row still does
        assert st["backlog"]["total"] in (100 * (len(codes) - 1), 100 * (len(codes) - 1) + 1)
    finally:
        edge.kill()


def test_survives_sigkill_with_every_acknowledged_event(tmp_path: Path) -> None:
    """Four senders post batches while the agent is SIGKILLed; each 202'd event is in the outbox."""
    edge = Edge(tmp_path, "http://127.0.0.1:9", None)
    edge.start()
    events = list(plant_day("1000", 1200))
    acked: set[tuple[str, str]] = set()
    stop = threading.Event()

    def sender(part: list[dict[str, Any]]) -> None:
        with httpx.Client(timeout=30) as client:
            for i in range(0, len(part), 50):
                if stop.is_set():
                    return
                try:
                    resp = edge.post(client, part[i : i + 50])
                except httpx.TransportError:
                    return
                if resp.status_code == 202:
                    acked.update((r["source"], r["id"]) for r in resp.json()["results"])

    threads = [threading.Thread(target=sender, args=(events[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) > 2000)
    edge.kill()
    stop.set()
    for t in threads:
        t.join()
    edge.start()
    with httpx.Client(base_url=edge.url, timeout=30) as client:
        for source, event_id in acked:
            found = client.get("/v1/outbox/lookup", params={"source": source, "id": event_id})
            assert found.status_code == 200, (source, event_id)
    assert edge.status()["backlog"]["total"] >= len(acked)
    edge.kill()


def test_status_without_outbox_fails_clearly(tmp_path: Path) -> None:
    out = cli("edge", "status", "--data-dir", str(tmp_path), check=False)
    assert out.returncode == 1 and "no edge outbox" in out.stderr
    out = cli("edge", check=False)
    assert out.returncode != 0
