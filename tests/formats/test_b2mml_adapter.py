"""The B2MML sink writes one validated document per idempotency key; the folder source hands a
document's events over whole and moves the file to done/ or error/ with a report."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from plantwire.adapters.b2mml.client import B2mmlFolder
from plantwire.adapters.b2mml.mapping import B2mmlMapping
from plantwire.adapters.b2mml.schemas import SchemaSet, Version
from plantwire.adapters.b2mml.sink import B2mmlSink
from plantwire.adapters.b2mml.source import B2mmlFolderSource, B2mmlReader
from plantwire.clocks import ManualClock
from plantwire.errors import PermanentError
from plantwire.ports import Command

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "b2mml"
EXAMPLES = CORPUS / "examples-v0401-courbon"
ORDER = {"order_id": "1000001", "plant": "1000", "item_id": "FG-1", "quantity": {"value": "5", "uom": "EA"},
         "components": [{"line": 10, "item_id": "RM-1", "quantity": {"value": "2", "uom": "KG"}}]}


class ListIntake:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def accept(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        self.events.extend(events)
        return [{"status": "accepted"} for _ in events]


@pytest.mark.parametrize("version", [Version.V0600, Version.V0701])
def test_sink_writes_once_per_key(tmp_path: Path, version: Version) -> None:
    folder = B2mmlFolder(tmp_path)
    sink = B2mmlSink(folder, ManualClock(), version, SchemaSet(CORPUS))
    first = sink.execute("ord-1000001/download", Command("mes", "download_order", ORDER))
    again = sink.execute("ord-1000001/download", Command("mes", "download_order", ORDER))
    assert first == {"document": "ord-1000001_download.xml", "duplicate": False}
    assert again["duplicate"] is True
    written = (tmp_path / "outbox" / first["document"]).read_bytes()
    assert b"<BODID>ord-1000001/download</BODID>" in written
    events = B2mmlReader(B2mmlMapping(times_from_creation=True), SchemaSet(CORPUS)).parse(written).events
    assert events[0]["data"]["order_id"] == "1000001"


def test_sink_refuses_other_commands(tmp_path: Path) -> None:
    sink = B2mmlSink(B2mmlFolder(tmp_path), ManualClock(), schemas=SchemaSet(CORPUS))
    with pytest.raises(PermanentError):
        sink.execute("k", Command("erp", "post_goods_movement", {}))


def test_folder_source_is_all_or_nothing(tmp_path: Path) -> None:
    folder = B2mmlFolder(tmp_path)
    for name in ("PRO-20121210181416-27942.xml", "PES-20121229115825-53107.xml"):
        (tmp_path / "inbox" / name).write_bytes((EXAMPLES / name).read_bytes())
    intake = ListIntake()
    mapping = B2mmlMapping(plant="COURBON", times_from_creation=True, line_properties=("Indice",))
    source = B2mmlFolderSource(folder, intake, B2mmlReader(mapping, SchemaSet(CORPUS)))
    assert asyncio.run(source.poll_once()) == 1
    assert [e["id"] for e in intake.events] == ["ORD-258456/released"]
    assert (tmp_path / "done" / "PRO-20121210181416-27942.xml").exists()
    report = (tmp_path / "error" / "PES-20121229115825-53107.xml.report.txt").read_text()
    assert "/SyncProductionPerformance (line 2)" in report and "releaseID" in report
    assert source.quarantine.count == 1
