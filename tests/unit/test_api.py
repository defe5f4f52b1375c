"""The HTTP API in-process (memory hub, manual clock): status codes, auth, operator endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from plantwire.api.app import create_app
from plantwire.bootstrap import Hub, bootstrap_for_tests
from plantwire.simulators.scenario import plant_day

STRUCTURED = {"content-type": "application/cloudevents+json"}
BATCH = {"content-type": "application/cloudevents-batch+json"}


@pytest.fixture
def hub() -> Iterator[Hub]:
    h = bootstrap_for_tests()
    yield h


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    token = hub.keys.create("tests")
    with TestClient(create_app(hub, run_worker=False),
                    headers={"authorization": f"Bearer {token}"}) as c:
        yield c


def day(orders: int = 3) -> list[dict[str, Any]]:
    return list(plant_day("1000", orders, seed=1))


def test_healthz_is_open_and_everything_else_needs_a_key(hub: Hub) -> None:
    with TestClient(create_app(hub, run_worker=False)) as anon:
        assert anon.get("/healthz").status_code == 200
        for path in ("/v1/status", "/v1/events", "/metrics", "/v1/dead-letters", "/docs"):
            resp = anon.get(path)
            assert resp.status_code == 401, path
            assert resp.json()["error"]["rule"] == "unauthorized"
        bad = anon.get("/v1/status", headers={"authorization": "Bearer pw_nope"})
        assert bad.status_code == 401 and "unknown or revoked" in bad.json()["error"]["message"]


def test_revoked_key_stops_working(hub: Hub) -> None:
    token = hub.keys.create("temp")
    with TestClient(create_app(hub, run_worker=False)) as c:
        auth = {"authorization": f"Bearer {token}"}
        assert c.get("/v1/status", headers=auth).status_code == 200
        hub.keys.revoke("temp")
        assert c.get("/v1/status", headers=auth).status_code == 401


def test_single_event_receipt_and_duplicate(client: TestClient, hub: Hub) -> None:
    event = day()[0]
    first = client.post("/v1/events", json=event, headers=STRUCTURED)
    assert first.status_code == 202
    assert first.json()["results"][0] == {"index": 0, "status": "accepted", "source": event["source"],
                                          "id": event["id"], "seq": 1, "duplicate": False}
    again = client.post("/v1/events", json=event, headers=STRUCTURED)
    assert again.status_code == 202
    assert again.json()["results"][0]["duplicate"] is True and again.json()["results"][0]["seq"] == 1
    assert hub.journal.head() == 1


def test_conflict_is_409(client: TestClient) -> None:
    event = day()[0]
    client.post("/v1/events", json=event, headers=STRUCTURED)
    changed = {**event, "data": {**event["data"], "currency": "USD"}}
    resp = client.post("/v1/events", json=changed, headers=STRUCTURED)
    assert resp.status_code == 409
    assert resp.json()["results"][0]["errors"][0]["rule"] == "identity-conflict"


def test_mixed_batch_is_207_with_a_result_per_event(client: TestClient, hub: Hub) -> None:
    events = day(1)[:4]
    bad = {**events[1], "id": "broken", "data": {**events[1]["data"], "ack_id": 5}}
    resp = client.post("/v1/events", json=[events[0], bad, events[2], 42], headers=BATCH)
    assert resp.status_code == 207
    body = resp.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted", "rejected"]
    assert body["results"][1]["errors"][0]["path"] == "$.data.ack_id"
    assert body["results"][3]["errors"][0]["rule"] == "type"
    assert hub.journal.head() == 2


def test_all_invalid_is_422_with_every_problem(client: TestClient) -> None:
    resp = client.post("/v1/events", headers=STRUCTURED, json={
        "specversion": "0.3", "id": "", "source": "mes/x", "type": "production.order.exploded",
        "data": {}})
    assert resp.status_code == 422
    rules = {(e["path"], e["rule"]) for e in resp.json()["results"][0]["errors"]}
    assert ("$.specversion", "unsupported-specversion") in rules
    assert ("$.id", "non-empty") in rules
    assert ("$.type", "unknown-type") in rules


def test_binary_mode(client: TestClient, hub: Hub) -> None:
    event = day()[0]
    headers = {"content-type": "application/json", "ce-specversion": "1.0", "ce-id": event["id"],
               "ce-source": event["source"], "ce-type": event["type"], "ce-plant": "1000"}
    resp = client.post("/v1/events", json=event["data"], headers=headers)
    assert resp.status_code == 202, resp.text
    stored = hub.journal.get_seq(1)
    assert stored is not None and stored.envelope.extensions == {"plant": "1000"}


def test_body_errors_are_4xx_with_a_rule(client: TestClient) -> None:
    cases = [
        (b"\xff\xfe{}", STRUCTURED, 400, "invalid-utf8"),
        (b'{"a": ', STRUCTURED, 400, "invalid-json"),
        (b"<a/>", {"content-type": "application/xml"}, 415, "unsupported-media-type"),
        (b"{}", BATCH, 400, "batch-not-array"),
    ]
    for body, headers, status, rule in cases:
        resp = client.post("/v1/events", content=body, headers=headers)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["error"]["rule"] == rule


def test_an_empty_batch_is_valid_and_gets_an_empty_receipt(client: TestClient, hub: Hub) -> None:
    head = hub.journal.head()
    resp = client.post("/v1/events", content=b"[]", headers=BATCH)
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"accepted": 0, "duplicates": 0, "held": 0, "rejected": 0, "conflicts": 0,
                           "results": []}
    assert hub.journal.head() == head


def test_a_repeated_member_rejects_only_its_event_with_the_path(client: TestClient, hub: Hub) -> None:
    first, second = day(1)[:2]
    text = orjson.dumps(second).decode()
    twice = text.replace('"source":', '"id":"other","source":', 1)  # `id` twice in event 1
    body = b"[" + orjson.dumps(first) + b"," + twice.encode() + b"]"
    resp = client.post("/v1/events", content=body, headers=BATCH)
    assert resp.status_code == 207, resp.text
    results = resp.json()["results"]
    assert results[0]["status"] == "accepted"
    assert results[1]["status"] == "rejected"
    assert [(i["path"], i["rule"]) for i in results[1]["errors"]] == [("$.id", "duplicate-member")]
    nested = orjson.dumps(first).decode().replace('"data":{', '"data":{"plant":"9",', 1)
    assert '"plant":"9"' in nested and nested.count('"plant":') >= 2
    one = client.post("/v1/events", content=nested.encode(), headers=STRUCTURED)
    assert one.status_code == 422, one.text
    assert [(i["path"], i["rule"]) for i in one.json()["results"][0]["errors"]] == [
        ("$.data.plant", "duplicate-member")]


def test_dead_letter_retry_and_discard_over_http(client: TestClient, hub: Hub) -> None:
    events = [e for e in day(1) if e["type"] == "production.component.consumed"]
    assert client.post("/v1/events", json=events, headers=BATCH).status_code == 202
    hub.dispatcher.drain()
    letters = client.get("/v1/dead-letters").json()["dead_letters"]
    assert len(letters) == 1 and letters[0]["blocking"] == 1  # second consumption waits behind
    assert "insufficient stock" in letters[0]["error_message"]
    one = client.get(f"/v1/dead-letters/{letters[0]['id']}").json()
    assert one["event"]["id"] == events[0]["id"]
    assert client.post(f"/v1/dead-letters/{one['id']}/discard", json={"reason": ""}).status_code == 422
    done = client.post(f"/v1/dead-letters/{one['id']}/discard", json={"reason": "booked twice in MES"})
    assert done.status_code == 200 and done.json()["reason"] == "booked twice in MES"
    hub.dispatcher.drain()
    # the second consumption was released, and dead-letters too: no stock was ever received
    assert len(client.get("/v1/dead-letters").json()["dead_letters"]) == 1
    assert client.post(f"/v1/dead-letters/{one['id']}/retry").status_code == 409


def test_metrics_and_status(client: TestClient, hub: Hub) -> None:
    client.post("/v1/events", json=day(2), headers=BATCH)
    hub.dispatcher.drain()
    status = client.get("/v1/status").json()
    assert status["subscribers"]["tally"]["lag"] == 0
    text = client.get("/metrics").text
    assert 'plantwire_ingest_events_total{status="accepted"} ' in text
    assert 'plantwire_subscriber_delivered_total{subscriber="tally"} ' + f"{hub.journal.head()}.0" in text


def test_replay_endpoint_and_bad_since(client: TestClient, hub: Hub) -> None:
    client.post("/v1/events", json=day(2), headers=BATCH)
    hub.dispatcher.drain()
    before = client.get("/v1/inventory").json()
    dry = client.post("/v1/replay", json={"subscriber": "inventory", "dry_run": True}).json()
    assert dry["selected"] > 0 and dry["replayed"] == 0
    assert client.post("/v1/replay", json={"subscriber": "inventory"}).json()["replayed"] == dry["selected"]
    assert client.get("/v1/inventory").json() == before
    bad = client.post("/v1/replay", json={"subscriber": "inventory", "since": "yesterday"})
    assert bad.status_code == 422 and bad.json()["error"]["path"] == "$.since"
    assert client.post("/v1/replay", json={"subscriber": "nobody"}).status_code == 404


def test_replay_refuses_unknown_fields(client: TestClient, hub: Hub) -> None:
    client.post("/v1/events", json=day(2), headers=BATCH)
    hub.dispatcher.drain()
    bad = client.post("/v1/replay", json={"subscriber": "inventory", "key": "1000123"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["path"] == "$.key" and bad.json()["error"]["rule"] == "extra_forbidden"
    typo = client.post("/v1/replay", json={"subscriber": "inventory", "dryrun": True})
    assert typo.status_code == 422 and typo.json()["error"]["path"] == "$.dryrun"  # not a real replay


def test_business_exceptions_endpoints(client: TestClient, hub: Hub) -> None:
    from plantwire.flows.exceptions import record_exception

    with hub.state.transaction() as tx:
        ex_id = record_exception(tx, hub.clock.now(), "po-ack", "4500010001", "ack-sla-missed",
                                 "PO 4500010001 not acknowledged in 8 working hours",
                                 "chase supplier SUP-100", {"plant": "1000", "supplier": "SUP-100"})
    listed = client.get("/v1/exceptions", params={"plant": "1000"}).json()["exceptions"]
    assert [e["id"] for e in listed] == [ex_id] and listed[0]["supplier"] == "SUP-100"
    assert client.get("/v1/exceptions", params={"plant": "2000"}).json()["exceptions"] == []
    assert client.get(f"/v1/exceptions/{ex_id}").json()["action"] == "chase supplier SUP-100"
    assert client.post(f"/v1/exceptions/{ex_id}/resolve", json={"note": ""}).status_code == 422
    done = client.post(f"/v1/exceptions/{ex_id}/resolve", json={"note": "ack received by phone"})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert client.post(f"/v1/exceptions/{ex_id}/resolve", json={"note": "again"}).status_code == 409
    assert client.get("/v1/exceptions").json()["exceptions"] == []
    assert client.get("/v1/exceptions/999").status_code == 404


@pytest.mark.parametrize(("attribute", "value", "rule"), [
    ("id", "PO-1\nPO-2", "control-character"),
    ("source", "mes/\x00line", "control-character"),
    ("subject", "lot\x1b[31m", "control-character"),
    ("plant", "10\u008500", "extension-value"),
])
def test_control_characters_in_attributes_are_refused(client: TestClient, hub: Hub, attribute: str,
                                                      value: str, rule: str) -> None:
    event = {**day(1)[0], attribute: value}
    resp = client.post("/v1/events", content=orjson.dumps(event), headers=STRUCTURED)
    assert resp.status_code == 422, resp.text
    assert [(e["path"], e["rule"]) for e in resp.json()["results"][0]["errors"]] == [(f"$.{attribute}", rule)]
    assert hub.journal.head() == 0


def test_one_out_of_policy_amount_rejects_only_its_event(client: TestClient, hub: Hub) -> None:
    events = day(1)
    good = events[0]
    bad = next(e for e in events[1:] if any(isinstance(v, dict) and "value" in v for v in e["data"].values()))
    quantity = next(k for k, v in bad["data"].items() if isinstance(v, dict) and "value" in v)
    bad = {**bad, "data": {**bad["data"], quantity: {**bad["data"][quantity], "value": "1E-999999999"}}}
    resp = client.post("/v1/events", content=orjson.dumps([good, bad]), headers=BATCH)
    assert resp.status_code == 207, resp.text
    first, second = resp.json()["results"]
    assert first["status"] == "accepted" and second["status"] == "rejected"
    assert [e["path"] for e in second["errors"]] == [f"$.data.{quantity}.value"]
    assert hub.journal.head() == 1
