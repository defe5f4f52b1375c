"""Dynamics 365 pack: emit -> parse round trips (hypothesis), located errors, and the client's request shape
(httpx.MockTransport only: no F&O environment is reachable here)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from erp_packs import D365, DAY
from erp_strategies import movement, production_order, purchase_order
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantwire.adapters.d365 import translate as t
from plantwire.adapters.d365.client import D365Client
from plantwire.adapters.d365.sink import D365Sink
from plantwire.domain.catalog import CATALOG
from plantwire.domain.commands import PostGoodsMovement
from plantwire.domain.procurement import PurchaseOrderApproved
from plantwire.domain.production import ProductionOrderReleased
from plantwire.errors import InvalidEvent, PermanentError
from plantwire.ports import Command
from plantwire.service.validation import validate_event

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALL_MOVES = [
    "goods_issue_to_order",
    "goods_receipt_from_order",
    "goods_receipt_for_po",
    "transfer",
    "block",
    "unblock",
]
TRANSFER = {
    "movement": "transfer",
    "plant": "1000",
    "item_id": "FG-PUMP-100",
    "quantity": {"value": "24", "uom": "EA"},
    "storage_location": "FG01",
    "to_location": "WH01",
}


def roundtrip(body: Any) -> Any:
    return json.loads(json.dumps(body))


@FAST
@given(production_order(st.none() | st.integers(1, 999).map(str)))
def test_production_order_round_trip(data: dict) -> None:
    order = ProductionOrderReleased.model_validate(data)
    doc = roundtrip(t.emit_production_order(order, D365))
    assert t.parse_production_order(doc, D365) == order
    validate_event(t.production_order_events(doc, D365)[0], CATALOG)


@FAST
@given(purchase_order(extra={}))
def test_purchase_order_round_trip(data: dict) -> None:
    po = PurchaseOrderApproved.model_validate(data)
    doc = roundtrip(t.emit_purchase_order(po, D365))
    assert t.parse_purchase_order(doc, D365) == po
    validate_event(t.purchase_order_events(doc, D365)[0], CATALOG)


@FAST
@given(movement(ALL_MOVES, st.none() | st.from_regex(r"\A[a-z]{1,10}\Z")))
def test_journal_round_trip(data: dict) -> None:
    cmd = PostGoodsMovement.model_validate(data)
    parsed, ref = t.parse_journal(roundtrip(t.emit_journal(cmd, "3F2A9C0D11B2E4A7", D365, DAY)), D365)
    assert parsed == cmd and ref == "3F2A9C0D11B2E4A7"


def test_block_is_a_status_change_in_a_transfer_journal() -> None:
    cmd = PostGoodsMovement.model_validate(
        {**TRANSFER, "movement": "block", "to_location": None, "lot": "L1"}
    )
    line = t.emit_journal(cmd, "R", D365, DAY)["InventoryTransferJournalEntries"]["value"][0]
    assert (line["FromInventoryStatusId"], line["ToInventoryStatusId"]) == ("Available", "Blocked")


def test_a_description_too_long_for_d365_is_refused() -> None:
    cmd = PostGoodsMovement.model_validate({**TRANSFER, "text": "x" * 80})
    with pytest.raises(InvalidEvent) as caught:
        t.emit_journal(cmd, "R", D365, DAY)
    assert caught.value.issues[0].rule == "max-length"


def test_sink_sends_bearer_token_and_odata_headers_then_header_and_line() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"value": []})
        if request.url.path.endswith("Headers"):
            return httpx.Response(201, json={"JournalNumber": "USMF-000123"})
        return httpx.Response(201, json={})

    client = D365Client(
        "https://env.operations.dynamics.com", token=lambda: "tok", transport=httpx.MockTransport(handler)
    )
    answer = D365Sink(client, D365, today=lambda: DAY).execute(
        "tr/1", Command("erp", "post_goods_movement", TRANSFER)
    )
    get, header, line = seen
    assert (
        get.url.path == "/data/InventoryTransferJournalHeaders" and get.url.params["cross-company"] == "true"
    )
    assert get.headers["authorization"] == "Bearer tok" and get.headers["odata-version"] == "4.0"
    assert json.loads(header.content)["JournalNameId"] == "ITrf"
    assert json.loads(line.content)["JournalNumber"] == "USMF-000123"
    assert answer == {"journal": "USMF-000123", "existing": False}


def test_sink_refuses_commands_it_does_not_carry() -> None:
    client = D365Client(
        "https://env", token=lambda: "t", transport=httpx.MockTransport(lambda r: httpx.Response(500))
    )
    with pytest.raises(PermanentError):
        D365Sink(client, D365).execute("k", Command("erp", "reverse_document", {"document": "1"}))
