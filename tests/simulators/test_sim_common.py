"""What all simulators share, exercised on the ERP: webhooks, the polling feed and fault injection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plantwire.simulators.testing import SimProcess, WebhookReceiver


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    process = SimProcess("erp", tmp_path_factory.mktemp("common") / "data").start()
    yield process
    process.kill()


@pytest.fixture
def erp(sim: SimProcess) -> Iterator[httpx.Client]:
    with sim.client() as client:
        yield client
        client.delete("/admin/faults")
        for hook in client.get("/admin/webhooks").json():
            client.delete(f"/admin/webhooks/{hook['id']}")


def post_stock(client: httpx.Client, qty: int = 1, ref: str | None = None) -> httpx.Response:
    return client.post(
        "/api/goods-movements",
        json={
            "GOODSMVT_HEADER": {"REF_DOC_NO": ref} if ref else {},
            "ITEMS": [{"BWART": "561", "MATNR": "20000058", "WERKS": "1000", "LGORT": "RM01", "ERFMG": qty}],
        },
    )


def subscribe(client: httpx.Client, receiver: WebhookReceiver, **extra: Any) -> int:
    answer = client.post("/admin/webhooks", json={"url": receiver.url, **extra})
    assert answer.status_code == 201
    return int(answer.json()["id"])


def deliveries(client: httpx.Client, hook_id: int) -> dict[str, int]:
    hook = next(h for h in client.get("/admin/webhooks").json() if h["id"] == hook_id)
    return dict(hook["deliveries"])


def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_webhooks_deliver_every_new_event_in_order(erp: httpx.Client) -> None:
    post_stock(erp)  # before the subscription: not pushed
    with WebhookReceiver() as receiver:
        subscribe(erp, receiver)
        docs = [post_stock(erp).json()["MATERIALDOCUMENT"] for _ in range(4)]
        receiver.wait_for(lambda got: len(got) >= 4)
        assert [e["DATA"]["MBLNR"] for e in receiver.received] == docs
        assert [e["OBJTYPE"] + "." + e["EVENT"] for e in receiver.received] == ["BUS2017.CREATED"] * 4
        seqs = [e["seq"] for e in receiver.received]
        assert seqs == sorted(seqs) and all(e["EVENT_ID"] == f"{e['seq']:016d}" for e in receiver.received)
        assert receiver.headers[0]["x-sim-system"] == "erp"


def test_duplicated_webhooks_arrive_twice_with_the_same_event_id(erp: httpx.Client) -> None:
    erp.put("/admin/faults", json={"duplicate_webhook_rate": 1.0, "seed": 1})
    with WebhookReceiver() as receiver:
        hook = subscribe(erp, receiver)
        for _ in range(3):
            post_stock(erp)
        receiver.wait_for(lambda got: len(got) >= 6)
        ids = [e["EVENT_ID"] for e in receiver.received]
        assert len(set(ids)) == 3 and all(ids.count(i) == 2 for i in ids)
        wait_until(lambda: deliveries(erp, hook)["sends"] == 6)


def test_dropped_webhooks_never_arrive_but_stay_in_the_feed(erp: httpx.Client) -> None:
    erp.put("/admin/faults", json={"drop_webhook_rate": 1.0})
    head = erp.get("/events").json()["head"]
    with WebhookReceiver() as receiver:
        hook = subscribe(erp, receiver)
        for _ in range(3):
            post_stock(erp)
        wait_until(lambda: deliveries(erp, hook)["dropped"] == 3)
        assert receiver.received == []
    feed = erp.get("/events", params={"after": head}).json()
    assert len(feed["events"]) == 3
    assert erp.get("/admin/counts").json()["webhook_deliveries"]["dropped"] >= 3


def test_failed_pushes_are_retried_until_accepted(erp: httpx.Client) -> None:
    with WebhookReceiver(fail_first=2) as receiver:
        hook = subscribe(erp, receiver)
        post_stock(erp)
        receiver.wait_for(lambda got: len(got) == 1)
        assert receiver.headers[0]["x-sim-delivery-attempt"] == "3"
        wait_until(lambda: deliveries(erp, hook)["delivered"] == 1)


def test_retries_are_bounded(erp: httpx.Client) -> None:
    with WebhookReceiver(fail_first=100) as receiver:
        hook = subscribe(erp, receiver, max_attempts=2)
        post_stock(erp)
        wait_until(lambda: deliveries(erp, hook)["failed"] == 1)
        assert receiver.received == [] and receiver.fail_first == 98


def test_out_of_order_delivery_shuffles_a_window(erp: httpx.Client) -> None:
    with WebhookReceiver() as receiver:
        subscribe(erp, receiver)
        # during an outage nothing is pushed, but the admin driver still works: 8 events pile up
        erp.put("/admin/faults", json={"down_seconds": 0.5, "reorder_window": 8, "seed": 3})
        for _ in range(4):
            erp.post("/admin/production-orders", json={"MATNR": "10000200", "GAMNG": 1})
        receiver.wait_for(lambda got: len(got) >= 8)
        seqs = [e["seq"] for e in receiver.received]
        assert sorted(seqs) == list(range(min(seqs), min(seqs) + 8))
        assert seqs != sorted(seqs)


def test_polling_feed_pages_with_a_monotonic_sequence(erp: httpx.Client) -> None:
    start = erp.get("/events").json()["head"]
    for _ in range(5):
        post_stock(erp)
    page = erp.get("/events", params={"after": start, "limit": 2}).json()
    assert [e["seq"] for e in page["events"]] == [start + 1, start + 2]
    assert page["next_after"] == start + 2 and page["head"] >= start + 5
    rest = erp.get("/events", params={"after": page["next_after"], "limit": 100}).json()
    assert [e["seq"] for e in rest["events"]][:3] == [start + 3, start + 4, start + 5]
    only = erp.get("/events", params={"after": start, "type": "BUS2005.CREATED"}).json()
    assert only["events"] == [] and only["next_after"] == start


def test_down_seconds_answers_503_then_recovers(erp: httpx.Client) -> None:
    erp.put("/admin/faults", json={"down_seconds": 0.6})
    down = post_stock(erp)
    assert down.status_code == 503 and "retry-after" in down.headers
    assert erp.get("/healthz").status_code == 503
    assert erp.get("/admin/faults").json()["down_remaining"] > 0
    wait_until(lambda: erp.get("/healthz").status_code == 200, timeout=5)
    assert post_stock(erp).status_code == 201


def test_error_rate_fails_before_anything_is_posted(erp: httpx.Client) -> None:
    before = erp.get("/admin/counts").json()["material_documents"]["total"]
    erp.put("/admin/faults", json={"error_rate": 1.0})
    assert post_stock(erp).status_code == 500
    erp.delete("/admin/faults")
    assert erp.get("/admin/counts").json()["material_documents"]["total"] == before


def test_a_timeout_hides_a_posting_that_happened(erp: httpx.Client) -> None:
    erp.put("/admin/faults", json={"timeout_rate": 1.0, "timeout_seconds": 2})
    with pytest.raises(httpx.ReadTimeout), httpx.Client(base_url=str(erp.base_url), timeout=0.3) as impatient:
        post_stock(impatient, ref="HIDDEN-1")
    erp.delete("/admin/faults")
    found = erp.get("/api/goods-movements", params={"REF_DOC_NO": "HIDDEN-1"}).json()["DOCUMENTS"]
    assert len(found) == 1  # check-before-write finds it; a retry with the reference would not double it
    assert post_stock(erp, ref="HIDDEN-1").json()["EXISTING"] is True


def test_latency_and_ignored_authorization(erp: httpx.Client) -> None:
    erp.put("/admin/faults", json={"latency_ms": 250})
    started = time.monotonic()
    answer = erp.get("/api/materials", headers={"Authorization": "Bearer whatever"})
    assert answer.status_code == 200 and time.monotonic() - started >= 0.25


def test_seeded_faults_repeat_exactly(erp: httpx.Client) -> None:
    def pattern() -> list[int]:
        erp.put("/admin/faults", json={"error_rate": 0.5, "seed": 42})
        return [erp.get("/api/materials").status_code for _ in range(16)]

    first = pattern()
    assert first == pattern() and {200, 500} == set(first)


def test_fault_settings_are_validated(erp: httpx.Client) -> None:
    assert erp.put("/admin/faults", json={"error_rate": 2}).status_code == 422
    assert erp.get("/admin/faults").json()["error_rate"] == 0
