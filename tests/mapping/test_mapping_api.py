"""The mapping routes through FastAPI's TestClient on a test hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from mapping_fixtures import OWNERS, RECEIPT

from plantwire.api.app import create_app
from plantwire.api.mapping_routes import add_mapping_routes
from plantwire.bootstrap import Hub, bootstrap_for_tests
from plantwire.mapping.checks import MappingChecks

STRUCTURED = {"content-type": "application/cloudevents+json"}


@pytest.fixture
def hub() -> Hub:
    h = bootstrap_for_tests()
    checks = MappingChecks(h.state, h.clock)
    h.ingest.checks.append(checks.check)
    h.ingest.hold = checks.hold
    return h


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    token = hub.keys.create("ops")
    app = create_app(hub, run_worker=False)
    add_mapping_routes(app, hub)
    with TestClient(app, headers={"authorization": f"Bearer {token}"}) as c:
        yield c


def test_xref_set_get_history_import_export(client: TestClient) -> None:
    url = "/v1/xref/erp/item/10000100"
    assert client.put(url, json={"golden": "FG-PUMP-100", "why": "load"}).json()["changed"] is True
    client.put(url, json={"golden": "FG-PUMP-101"})
    got = client.get(url).json()
    assert got["golden"] == "FG-PUMP-101" and got["by"] == "ops" and got["version"] == 2
    assert client.get(url, params={"revision": 1}).json()["golden"] == "FG-PUMP-100"
    assert len(client.get(url + "/history").json()["versions"]) == 2
    missing = client.get("/v1/xref/erp/item/999")
    assert missing.status_code == 404 and "erp item '999'" in missing.json()["error"]["message"]
    report = client.post("/v1/xref/import", content=b"system_id,golden_id\nP1,A\nP2,\n",
                         params={"system": "mes", "kind": "item"}).json()
    assert (report["added"], report["rejected"], report["rejections"][0]["line"]) == (1, 1, 3)
    assert "mes,item,P1,A" in client.get("/v1/xref/export").text
    assert len(client.get("/v1/xref", params={"system": "mes"}).json()["xrefs"]) == 1
    assert client.put("/v1/xref/erp/item/x1", json={"golden": "FG-PUMP-101"}).status_code == 409
    assert client.delete(url).status_code == 200 and client.get(url).status_code == 404


def test_uom_and_value_maps(client: TestClient) -> None:
    conv = {"from_uom": "BOX", "to_uom": "EA", "factor": "12", "item_id": "X"}
    assert client.put("/v1/uom/conversions", json=conv).status_code == 200
    ok = client.get("/v1/uom/convert", params={"value": "2", "from": "BOX", "to": "EA", "item": "X"})
    assert ok.json() == {"value": "24", "uom": "EA"}
    inexact = client.get("/v1/uom/convert", params={"value": "5", "from": "EA", "to": "BOX", "item": "X"})
    assert inexact.status_code == 409 and "rounding rule for BOX" in inexact.json()["error"]["message"]
    assert client.put("/v1/uom/rounding/BOX", json={"places": 2, "mode": "half-up"}).status_code == 200
    assert client.get("/v1/uom/convert", params={"value": "5", "from": "EA", "to": "BOX", "item": "X"}
                      ).json() == {"value": "0.42", "uom": "BOX"}
    assert client.get("/v1/uom/convert", params={"value": "5", "from": "EA", "to": "KG"}).status_code == 422
    assert client.put("/v1/valuemaps/acme/status/OK", json={"value": "accepted"}).status_code == 200
    assert client.get("/v1/valuemaps").json()["values"][0]["value"] == "accepted"


@pytest.mark.timeout(30)  # this request once hung the whole hub (issue #13): a hang fails here
@pytest.mark.parametrize(("value", "rule"), [("1e-999999999", "decimal_exponent"),
                                             ("1e999999999", "decimal_exponent"),
                                             ("1" * 19, "decimal_whole_digits"),
                                             ("0." + "0" * 18 + "1", "decimal_max_places"),
                                             (" 5", "decimal_parsing"), ("1_0", "decimal_parsing")])
def test_uom_convert_and_conversions_refuse_amounts_out_of_policy(client: TestClient, value: str,
                                                                  rule: str) -> None:
    bad = client.get("/v1/uom/convert", params={"value": value, "from": "EA", "to": "EA"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["rule"] == rule and bad.json()["error"]["path"] == "$.value"
    conv = {"from_uom": "BOX", "to_uom": "EA", "factor": value}
    assert client.put("/v1/uom/conversions", json=conv).status_code == 422
    assert client.get("/healthz").status_code == 200


def test_rules_review_and_owners(client: TestClient, hub: Hub) -> None:
    rules = [{"id": "lot", "contract": "procurement.goods.received", "kind": "required",
              "path": "lines[*].lot", "severity": "quarantine"},
             {"id": "qty", "contract": "procurement.goods.received", "kind": "range",
              "path": "lines[*].quantity.value", "max": 1, "severity": "reject"}]
    assert client.put("/v1/dq/rules", json={"rules": rules[:1]}).json()["version"] == 1
    bad = client.put("/v1/dq/rules", json={"rules": [{"id": "x"}]})
    assert bad.status_code == 422 and bad.json()["error"]["path"] == "$.rules[0]"
    receipt = client.post("/v1/events", json=RECEIPT, headers=STRUCTURED)
    assert receipt.status_code == 202 and receipt.json()["results"][0]["review"]
    [item] = client.get("/v1/dq/review").json()["review"]
    assert item["issues"][0]["rule"] == "lot"
    approved = client.post(f"/v1/dq/review/{item['id']}/approve", json={"note": "ok"}).json()
    assert approved["status"] == "approved" and hub.journal.get("wms/plant-1000", "GR-1") is not None
    assert client.post(f"/v1/dq/review/{item['id']}/reject", json={"note": "x"}).status_code == 409
    client.put("/v1/dq/rules", json={"rules": rules})
    rejected = client.post("/v1/events", json={**RECEIPT, "id": "GR-9"}, headers=STRUCTURED)
    assert rejected.status_code == 422
    assert {e["rule"] for e in rejected.json()["results"][0]["errors"]} == {"qty", "lot"}
    assert client.get("/v1/dq/rules", params={"version": 1}).json()["doc"]["rules"] == rules[:1]
    assert client.put("/v1/owners", json=OWNERS).json()["version"] == 1
    assert client.get("/v1/owners").json()["doc"]["owners"][0]["system"] == "mes"
