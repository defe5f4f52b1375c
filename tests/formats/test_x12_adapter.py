"""X12 envelope, delimiters, 997 codes, the file-drop source and the 850 sink."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_x12_support import CORPUS, PARTNER, events_of

from plantwire.adapters.x12.client import FileDrop
from plantwire.adapters.x12.segments import ELEMENTS, KNOWN_SEGMENTS, SEGMENTS
from plantwire.adapters.x12.sink import X12Sink, emit_850
from plantwire.adapters.x12.source import X12Source, receive
from plantwire.domain.commands import SendPurchaseOrder
from plantwire.errors import InvalidEvent
from plantwire.ports import Command

NOW = datetime(2024, 5, 6, 7, 8, tzinfo=UTC)
DEFS = CORPUS / "definitions"
PO = ("ISA*00*          *00*          *ZZ*BUYER          *ZZ*SUPPLIER       *240506*0708*U*00401*"
      "000000007*0*P*>~\n"
      "GS*PO*BUYER*SUPPLIER*20240506*0708*7*X*004010~\nST*850*0001~\nBEG*00*SA*PO-77**20240506~\n"
      "N1*ST**92*P1000~\nPO1*10*5*EA*2.5**BP*RM-1~\nDTM*002*20240510~\nCTT*1~\nSE*7*0001~\nGE*1*7~\n"
      "IEA*1*000000007~\n")


def variant(text: str, **swap: str) -> bytes:
    for old, new in swap.items():
        text = text.replace(old, new)
    return text.encode()


class Clock:
    def now(self) -> float:
        return NOW.timestamp()


class Intake:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def accept(self, events: Any) -> list[dict[str, Any]]:
        self.events += events
        return [{"status": "accepted"} for _ in events]


def test_any_declared_delimiters_work() -> None:
    text = PO.replace("*", "|").replace("|>~", "|:\r").replace("~\n", "\r\n")
    (event,) = events_of(text.encode())
    assert event["data"]["lines"][0]["quantity"] == {"value": "5", "uom": "EA"}
    assert event["id"] == "PO-PO-77/rev-0" and event["data"]["plant"] == "P1000"


def test_invalid_utf8_is_located_by_byte() -> None:
    with pytest.raises(InvalidEvent) as caught:
        events_of(PO.encode().replace(b"RM-1", b"RM-\xff"))
    assert caught.value.issues[0].path == f"byte[{PO.index('RM-1') + 3}]"


@pytest.mark.parametrize(("swap", "path", "ak"), [
    ({"CTT*1~": "XYZ*1~"}, "segment[8]/XYZ", "AK3*XYZ*6**1"),  # unknown segment
    ({"PO1*10*5*EA": "PO1*10*5*EACH"}, "segment[6]/PO103", "AK4*3*355*5*EACH"),  # too long
    ({"DTM*002*20240510": "DTM*002*20241310"}, "segment[7]/DTM02", "AK4*2*373*8*20241310"),  # bad date
    ({"BEG*00*SA*PO-77*": "BEG*00*SA**"}, "segment[4]/BEG03", "AK4*3*324*1"),  # mandatory missing
    ({"SE*7*0001": "SE*9*0001"}, "segment[9]/SE01", "AK5*R*4"),  # segment count
    ({"SE*7*0001": "SE*7*0002"}, "segment[9]/SE02", "AK5*R*3"),  # control numbers differ
    ({"GE*1*7": "GE*2*7"}, "segment[10]/GE01", "AK9*R*2*1*1*5"),  # set count
])
def test_errors_are_located_and_acknowledged(swap: dict[str, str], path: str, ak: str) -> None:
    data = variant(PO, **swap)
    with pytest.raises(InvalidEvent) as caught:
        events_of(data)
    assert path in [issue.path for issue in caught.value.issues]
    result = receive(data, PARTNER, NOW)
    assert not result.accepted and result.events == []
    assert ak in result.acks_out[0].decode()


def test_a_good_group_gets_an_accepting_997_from_us_to_them() -> None:
    result = receive(PO.encode(), PARTNER, NOW)
    (ack,) = result.acks_out
    text = ack.decode()
    assert re.search(r"ISA\*00\*.{10}\*00\*.{10}\*ZZ\*SUPPLIER {7}\*ZZ\*BUYER {10}\*", text)
    assert "AK1*PO*7~\nAK2*850*0001~\nAK5*A~\nAK9*A*1*1*1~" in text
    assert receive(ack, PARTNER, NOW).acks_out == []  # a 997 is not acknowledged


def test_a_broken_envelope_is_refused_whole() -> None:
    with pytest.raises(InvalidEvent) as caught:
        receive(variant(PO, **{"*00401*": "*0040X*"}), PARTNER, NOW)
    assert caught.value.issues[0].path == "segment[1]/ISA12"


def test_the_file_drop_source(tmp_path: Path) -> None:
    drop = FileDrop(tmp_path / "in", tmp_path / "out")
    drop.inbox.mkdir()
    (drop.inbox / "good.x12").write_text(PO)
    (drop.inbox / "bad.x12").write_bytes((CORPUS / "edi-net/x12.850.issue135.edi").read_bytes())
    intake = Intake()
    asyncio.run(X12Source(intake, drop, PARTNER, Clock()).poll())
    assert [e["id"] for e in intake.events] == ["PO-PO-77/rev-0"]
    assert (drop.inbox / "done" / "good.x12").exists()
    assert "segment[23]/DTM02" in (drop.inbox / "error" / "bad.x12.report.txt").read_text()
    assert sorted(p.name for p in drop.outbox.iterdir()) == ["997-bad-1.x12", "997-good-1.x12"]


def command() -> SendPurchaseOrder:
    return SendPurchaseOrder.model_validate({
        "po_number": "4500010001", "revision": 1, "plant": "1000", "supplier_id": "SUP-100",
        "currency": "EUR", "lines": [{"line": 10, "item_id": "RM-SEAL-KIT",
                                      "quantity": {"value": "12.5", "uom": "EA"},
                                      "delivery_date": "2026-12-01", "unit_price": "3.10"}]})


def test_the_sink_writes_one_850_per_key(tmp_path: Path) -> None:
    sink = X12Sink(FileDrop(tmp_path / "in", tmp_path / "out"), PARTNER, Clock())
    cmd = Command("supplier", "send_purchase_order", command().model_dump(mode="json"))
    first, again = sink.execute("po/4500010001/1", cmd), sink.execute("po/4500010001/1", cmd)
    assert first == again and len(list((tmp_path / "out").iterdir())) == 1
    (event,) = events_of((tmp_path / "out" / first["file"]).read_bytes())
    assert event["data"]["revision"] == 1 and Decimal(event["data"]["lines"][0]["quantity"]["value"]) == 12.5
    assert f"*{first['document']}*0*P*>~" in (tmp_path / "out" / first["file"]).read_text()


def test_data_holding_a_delimiter_is_refused_at_emit() -> None:
    cmd = command().model_copy(update={"po_number": "45*00"})
    with pytest.raises(InvalidEvent) as caught:
        emit_850(cmd, PARTNER, "k", NOW)
    assert caught.value.issues[0].path == "segment[4]/BEG03"


def test_element_table_agrees_with_pyx12_dictionary() -> None:
    found = {m[0]: (m[1], int(m[2]), int(m[3])) for m in re.findall(
        r'ele_num="(\w+)" data_type="(\w+)" min_len="(\d+)" max_len="(\d+)"',
        (DEFS / "pyx12" / "dataele.xml").read_text())}
    shared = [ref for ref in ELEMENTS if ref in found]
    assert len(shared) > 70
    assert {ref: ELEMENTS[ref] for ref in shared} == {ref: found[ref] for ref in shared}


def test_segment_table_covers_the_definitions_and_their_mandatory_elements() -> None:
    staedi = {p.name: p.read_text() for p in (DEFS / "staedi").glob("*.xml")}
    ids = {i for text in staedi.values() for i in re.findall(r'segmentType name="(\w+)"', text)}
    ids |= {i for p in (DEFS / "pyx12").glob("*.4010*.xml") for i in re.findall(r'<segment xid="(\w+)"',
                                                                               p.read_text())}
    assert ids <= KNOWN_SEGMENTS
    text = staedi["EDISchema850.xml"] + staedi["EDISchema810.xml"]
    for seg in ("BEG", "CUR", "REF", "N1", "CTT", "BIG", "TDS"):
        body = re.search(rf'segmentType name="{seg}">(.*?)</segmentType>', text, re.S)
        assert body is not None
        mandatory = [bool(re.search(r'minOccurs="1"', e)) for e in re.findall(r"<element [^>]*>", body[1])]
        ours = [d.mandatory for d in SEGMENTS[seg]][:len(mandatory)]
        assert ours == mandatory[:len(ours)], seg
