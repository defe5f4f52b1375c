"""Oracle Fusion pack: emit -> parse round trips (hypothesis), located errors, and the client's request shape
(httpx.MockTransport only: no Fusion pod is reachable here)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from erp_packs import FIXTURES, ORACLE
from erp_strategies import movement, production_order, purchase_order
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantwire.adapters._erp_json import JsonNode
from plantwire.adapters.oracle_fusion import translate as t
from plantwire.adapters.oracle_fusion.client import OracleClient
from plantwire.adapters.oracle_fusion.sink import OracleSink
from plantwire.adapters.oracle_fusion.source import OracleSource
from plantwire.domain.catalog import CATALOG
from plantwire.domain.commands import PostGoodsMovement
from plantwire.domain.procurement import PurchaseOrderApproved
from plantwire.domain.production import ProductionOrderReleased
from plantwire.errors import InvalidEvent, TargetUnavailable
from plantwire.ports import Command
from plantwire.service.validation import validate_event

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GR = {
    "movement": "goods_receipt_for_po",
    "plant": "M1",
    "item_id": "AS54888",
    "quantity": {"value": "40", "uom": "EA"},
    "storage_location": "Stores",
    "po_number": "1002417",
    "po_line": 1,
}


def roundtrip(body: Any) -> Any:
    return json.loads(json.dumps(body))


@FAST
@given(production_order(st.integers(1, 999).map(str)))
def test_work_order_round_trip(data: dict) -> None:
    order = ProductionOrderReleased.model_validate(data)
    body = roundtrip({"items": [t.emit_work_order(order, ORACLE)]})
    assert t.parse_work_order(JsonNode(body["items"][0], "$"), ORACLE) == order
    for event in t.work_order_events(body, ORACLE):
        validate_event(event, CATALOG)


@FAST
@given(purchase_order(extra={}))
def test_purchase_order_round_trip(data: dict) -> None:
    po = PurchaseOrderApproved.model_validate(data)
    body = roundtrip({"items": [t.emit_purchase_order(po, ORACLE)]})
    assert t.parse_purchase_order(JsonNode(body["items"][0], "$"), ORACLE) == po
    validate_event(t.purchase_order_events(body, ORACLE)[0], CATALOG)


@FAST
@given(movement(["goods_receipt_for_po"], st.none()))
def test_receipt_request_round_trip(data: dict) -> None:
    cmd = PostGoodsMovement.model_validate(data)
    parsed, ref = t.parse_receipt_request(roundtrip(t.emit_receipt_request(cmd, "ref-1", ORACLE)), ORACLE)
    assert parsed == cmd and ref == "ref-1"


def test_a_processed_receipt_becomes_goods_received() -> None:
    body = json.loads((FIXTURES / "oracle" / "receipt_request.json").read_bytes())
    body.update(
        {"ReceiptNumber": "7001", "TransactionDate": "2026-11-27T09:12:00+00:00", "VendorNumber": "1252"}
    )
    event = t.receipt_events(body, ORACLE)[0]
    validate_event(event, CATALOG)
    assert event["id"] == "RCPT-7001" and event["data"]["lines"][0]["lot"] == "B7781"


def test_other_movements_are_refused_with_a_location() -> None:
    with pytest.raises(InvalidEvent) as caught:
        t.emit_receipt_request(
            PostGoodsMovement.model_validate({**GR, "movement": "transfer", "to_location": "X"}), "r", ORACLE
        )
    assert caught.value.issues[0].path == "$.movement"


def test_sink_sends_the_rest_framework_version_and_checks_before_writing() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"items": [], "count": 0, "hasMore": False})
        return httpx.Response(201, json={"HeaderInterfaceId": 300100555})

    client = OracleClient("https://pod.example", "u", "p", transport=httpx.MockTransport(handler))
    answer = OracleSink(client, ORACLE).execute("gr/5000001", Command("erp", "post_goods_movement", GR))
    get, post = seen
    assert get.url.path == "/fscmRestApi/resources/11.13.18.05/receivingReceiptRequests"
    assert get.url.params["q"] == "Comments='gr/5000001'" and get.headers["rest-framework-version"] == "4"
    assert post.headers["content-type"] == "application/vnd.oracle.adf.resourceitem+json"
    assert json.loads(post.content)["lines"][0]["DocumentNumber"] == "1002417"
    assert answer == {"request": 300100555, "existing": False}


def test_client_translates_outages() -> None:
    client = OracleClient(
        "https://pod.example", token="t", transport=httpx.MockTransport(lambda r: httpx.Response(503))
    )
    with pytest.raises(TargetUnavailable):
        client.find("work_orders", "WorkOrderNumber='1'")


def test_source_hands_events_to_the_intake() -> None:
    class Intake:
        events: list[dict[str, Any]] = []

        async def accept(self, events: Any) -> list[dict[str, Any]]:
            self.events.extend(events)
            return []

    intake = Intake()
    body = json.loads((FIXTURES / "oracle" / "work_order_released.json").read_bytes())
    asyncio.run(OracleSource(intake, ORACLE).receive("work_orders", body))
    assert intake.events[0]["id"] == "WO-1000123/released"
