"""SAP pack: located errors, hostile XML, the sinks' and clients' request shapes (httpx.MockTransport only:
no SAP system is reachable here), and the sources handing events to an intake."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from erp_packs import FIXTURES, SAP, T

from plantwire.adapters.sap.idoc import translate as it
from plantwire.adapters.sap.idoc.client import IdocClient
from plantwire.adapters.sap.idoc.sink import IdocSink
from plantwire.adapters.sap.idoc.source import IdocSource
from plantwire.adapters.sap.odata.client import SapODataClient
from plantwire.adapters.sap.odata.sink import ODataSink
from plantwire.adapters.sap.odata.source import ODataSource
from plantwire.errors import InvalidEvent, PermanentError, TargetUnavailable
from plantwire.ports import Command

GM = {
    "movement": "goods_issue_to_order",
    "plant": "1000",
    "item_id": "RM-HOUSING-A",
    "quantity": {"value": "25", "uom": "EA"},
    "storage_location": "RM01",
    "order_id": "1000123",
}


def fixture(name: str) -> bytes:
    return (FIXTURES / "sap" / name).read_bytes()


class Intake:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def accept(self, events: Any) -> list[dict[str, Any]]:
        self.events.extend(events)
        return [{"status": "accepted"} for _ in events]


def test_loipro_fixture_maps_to_a_released_order_in_plant_time() -> None:
    order, _ = it.parse_loipro(fixture("loipro01_released.xml"), SAP)
    assert order is not None
    assert order.order_id == "1000123" and order.quantity.value == 25 and order.quantity.uom == "EA"
    assert order.scheduled_start.isoformat() == "2026-11-27T08:00:00+01:00"
    assert [c.quantity.uom for c in order.components] == ["EA", "KG"]


def test_order_that_is_not_released_gives_no_event() -> None:
    doc = fixture("loipro01_released.xml").replace(b"<STAT>I0002</STAT>", b"<STAT>I0001</STAT>")
    assert it.loipro_events(doc, SAP) == []
    assert it.order_state(doc) == ["created"]


def test_a_bad_number_is_located_by_xpath() -> None:
    doc = fixture("loipro01_released.xml").replace(b"<BDMNG>12.500</BDMNG>", b"<BDMNG>1e999x</BDMNG>")
    with pytest.raises(InvalidEvent) as caught:
        it.parse_loipro(doc, SAP)
    assert caught.value.issues[0].path == "/LOIPRO01/IDOC/E1AFKOL/E1RESBL[2]/BDMNG"


def test_an_external_entity_is_refused_and_never_read(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY s SYSTEM "file://{secret}">]>'
        f"<LOIPRO01><IDOC>&s;</IDOC></LOIPRO01>"
    ).encode()
    with pytest.raises(InvalidEvent) as caught:
        it.loipro_events(doc, SAP)
    assert caught.value.issues[0].rule == "xml-dtd" and "TOP-SECRET" not in str(caught.value)


def test_nesting_beyond_the_depth_limit_is_refused() -> None:
    doc = b"<LOIPRO01>" + b"<a>" * 300 + b"</a>" * 300 + b"</LOIPRO01>"
    with pytest.raises(InvalidEvent):
        it.loipro_events(doc, SAP)


def test_an_unknown_cross_reference_names_system_field_and_value() -> None:
    from plantwire.adapters.sap.mapping import CrossReference, SapMapping

    strict = SapMapping(items=CrossReference("MATNR", {"FG-PUMP-100": "10000100"}))
    with pytest.raises(InvalidEvent) as caught:
        it.parse_loipro(fixture("loipro01_released.xml"), strict)
    issue = caught.value.issues[0]
    assert issue.rule == "unknown-xref" and "MATNR" in issue.message and "FG-PUMP-100" in issue.message


def test_a_goods_movement_without_its_order_is_refused_before_sending() -> None:
    from plantwire.domain.commands import PostGoodsMovement

    cmd = PostGoodsMovement.model_validate({**GM, "order_id": None})
    with pytest.raises(InvalidEvent) as caught:
        it.emit_mbgmcr(cmd, "k", SAP, T)
    assert caught.value.issues[0].path == "$.order_id"


def test_idoc_sink_posts_xml_with_a_docnum_from_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    client = IdocClient("https://sap.example", "u", "p", transport=httpx.MockTransport(handler))
    answer = IdocSink(client, SAP, now=lambda: T).execute("gm-1", Command("erp", "post_goods_movement", GM))
    request = seen[0]
    assert request.url.path == "/sap/bc/idoc_xml" and request.url.params["sap-client"] == "100"
    assert request.headers["content-type"].startswith("application/xml")
    assert request.headers["authorization"].startswith("Basic ")
    assert answer["idoc"] == it.docnum("gm-1") and b"<REF_DOC_NO>gm-1</REF_DOC_NO>" in request.content


def test_idoc_client_translates_outages_and_refusals() -> None:
    for status, error in ((503, TargetUnavailable), (400, PermanentError)):
        client = IdocClient(
            "https://sap.example",
            "u",
            "p",
            transport=httpx.MockTransport(lambda r, s=status: httpx.Response(s)),
        )
        with pytest.raises(error):
            client.send(b"<x/>")


def test_odata_sink_fetches_a_csrf_token_checks_the_reference_then_posts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("x-csrf-token") == "Fetch":
            return httpx.Response(200, headers={"x-csrf-token": "tok-1", "set-cookie": "SAP_SESSIONID=abc"})
        if request.method == "GET":
            return httpx.Response(200, json={"d": {"results": []}})
        if request.headers.get("x-csrf-token") == "tok-1":
            return httpx.Response(
                201, json={"d": {"MaterialDocument": "4900000007", "MaterialDocumentYear": "2026"}}
            )
        return httpx.Response(500)

    client = SapODataClient("https://sap.example", "u", "p", transport=httpx.MockTransport(handler))
    sink = ODataSink(client, SAP, today=lambda: T.date())
    answer = sink.execute("gm-1", Command("erp", "post_goods_movement", GM))
    get, fetch, post = seen
    assert get.url.params["$filter"] == "ReferenceDocument eq 'gm-1'"
    assert fetch.url.path == "/sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV/"
    assert post.url.path.endswith("/A_MaterialDocumentHeader") and post.headers["x-csrf-token"] == "tok-1"
    assert "SAP_SESSIONID=abc" in post.headers.get("cookie", "")
    body = json.loads(post.content)
    assert (
        body["GoodsMovementCode"] == "03"
        and body["to_MaterialDocumentItem"]["results"][0]["GoodsMovementType"] == "261"
    )
    assert answer == {"document": "4900000007", "year": "2026", "existing": False}


def test_odata_sink_does_not_post_twice() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET", "no write when the reference already exists"
        return httpx.Response(
            200, json={"d": {"results": [{"MaterialDocument": "4900000007", "MaterialDocumentYear": "2026"}]}}
        )

    client = SapODataClient("https://sap.example", "u", "p", transport=httpx.MockTransport(handler))
    answer = ODataSink(client, SAP).execute("gm-1", Command("erp", "post_goods_movement", GM))
    assert answer["existing"] is True


def test_odata_client_refetches_the_token_when_sap_requires_it() -> None:
    tokens = iter(["old", "new"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-csrf-token") == "Fetch":
            return httpx.Response(200, headers={"x-csrf-token": next(tokens)})
        if request.headers["x-csrf-token"] == "old":
            return httpx.Response(403, headers={"x-csrf-token": "Required"})
        return httpx.Response(201, json={"d": {"ok": True}})

    client = SapODataClient("https://sap.example", "u", "p", transport=httpx.MockTransport(handler))
    assert client.post("confirmation", "ProdnOrdConf2", {}) == {"d": {"ok": True}}


def test_sources_hand_events_to_the_intake() -> None:
    intake = Intake()
    asyncio.run(IdocSource(intake, SAP).receive(fixture("desadv_delvry07.xml")))
    body = json.loads(fixture("odata_v2_prodnordconf2.json"))
    asyncio.run(ODataSource(intake, SAP).receive("ProdnOrdConf2", body))
    assert [e["type"] for e in intake.events] == [
        "procurement.shipment.notified",
        "production.goods.completed",
    ]
    assert intake.events[0]["id"] == "ASN-0000100200-80004711"
