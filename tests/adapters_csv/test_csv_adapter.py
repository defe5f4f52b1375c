"""The CSV watched folder: pure translation, and the source end to end on a test hub's intake."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from deployments import Deployment

from plantwire.adapters.csv.sink import CsvFolderSink, command_rows
from plantwire.adapters.csv.source import FILES, CsvFolderSource
from plantwire.adapters.csv.translate import (
    FolderMapping,
    mapping_from_dict,
    missing_columns,
    read_rows,
    row_event,
)
from plantwire.bootstrap import Hub
from plantwire.errors import ConfigurationError, InvalidEvent
from plantwire.ports import Command
from plantwire.service.intake import HubIntake

MAPPING: dict[str, Any] = {"folder": {
    "name": "legacy-wms", "type": "inventory.transferred", "source": "csv/legacy-wms",
    "id": "TR-{Doc}-{Line}", "time": "When", "plant": {"column": "Site", "map": {"P1": "1000", "P2": "2000"}},
    "fields": {
        "transfer_id": {"template": "{Doc}-{Line}"},
        "plant": {"column": "Site", "map": {"P1": "1000", "P2": "2000"}},
        "item_id": "Material", "quantity.value": "Qty", "quantity.uom": {"const": "EA"},
        "lot": {"column": "Batch", "optional": True},
        "from_location": "From", "to_location": "To", "transferred_at": "When"}}}
HEADER = "Doc,Line,Site,Material,Qty,Batch,From,To,When\n"
GOOD = "D1,1,P1,RM-BOLT-M8,10,,RM01,PR01,2026-11-27T08:00:00+00:00\n"


@pytest.fixture
def mapping() -> FolderMapping:
    return mapping_from_dict(MAPPING)


def test_row_becomes_a_cloud_event(mapping: FolderMapping) -> None:
    header, rows = read_rows(HEADER + GOOD)
    assert missing_columns(mapping, header) == []
    event = row_event(mapping, rows[0][1] or {}, rows[0][0])
    assert event["id"] == "TR-D1-1" and event["plant"] == "1000" and event["time"].startswith("2026")
    assert event["data"] == {"transfer_id": "D1-1", "plant": "1000", "item_id": "RM-BOLT-M8",
                             "quantity": {"value": "10", "uom": "EA"}, "from_location": "RM01",
                             "to_location": "PR01", "transferred_at": "2026-11-27T08:00:00+00:00"}


def test_bad_rows_say_line_and_column(mapping: FolderMapping) -> None:
    _, rows = read_rows(HEADER + GOOD + "\nD1,2,P9,,1,,RM01,PR01,2026-11-27T08:00:00+00:00\nshort,row\n")
    assert [line for line, _ in rows] == [2, 4, 5] and rows[2][1] is None
    with pytest.raises(InvalidEvent) as info:
        row_event(mapping, rows[1][1] or {}, rows[1][0])
    assert {(i.path, i.rule) for i in info.value.issues} == {
        ("line 4:Site", "csv-value-map"), ("line 4:Material", "csv-required")}
    assert missing_columns(mapping, ["Doc"])[:2] == ["Batch", "From"]
    with pytest.raises(ConfigurationError):
        mapping_from_dict({"name": "x"})


@pytest.fixture
def hub(deployment: Deployment) -> Hub:
    return deployment.hub()


def source(tmp_path: Path, hub: Hub, mapping: FolderMapping) -> CsvFolderSource:
    return CsvFolderSource(tmp_path / "drop", mapping, HubIntake(hub.ingest), hub.state, hub.clock)


def scan(src: CsvFolderSource) -> list[Any]:
    return asyncio.run(src.scan_once())


def test_file_is_processed_once_after_it_settles(tmp_path: Path, hub: Hub, mapping: FolderMapping) -> None:
    src = source(tmp_path, hub, mapping)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "moves.csv.tmp").write_text(HEADER + GOOD)  # still being written: never picked up
    (drop / "moves.csv").write_text(HEADER + GOOD)
    assert scan(src) == []  # first sighting: wait for the size to settle
    [result] = scan(src)
    assert result.outcome == "done" and result.counts["accepted"] == 1
    assert hub.journal.get("csv/legacy-wms", "TR-D1-1") is not None
    report = json.loads((drop / "done" / "moves.csv.report.json").read_text())
    assert report["rows"] == [{"line": 2, "id": "TR-D1-1", "status": "accepted", "seq": 1}]
    assert (drop / "moves.csv.tmp").exists() and not (drop / "moves.csv").exists()
    # the same content again (another name): known by its hash, only filed away
    (drop / "again.csv").write_text(HEADER + GOOD)
    scan(src)
    [again] = scan(src)
    assert again.outcome == "already-processed" and hub.journal.head() == 1
    with hub.state.transaction() as tx:
        assert len(tx.scan(FILES)) == 1


def test_growing_file_waits(tmp_path: Path, hub: Hub, mapping: FolderMapping) -> None:
    src = source(tmp_path, hub, mapping)
    drop = tmp_path / "drop"
    drop.mkdir()
    path = drop / "grow.csv"
    path.write_text(HEADER)
    assert scan(src) == []
    with path.open("a") as f:
        f.write(GOOD)
    os.utime(path, ns=(1, 1))
    assert scan(src) == []  # changed since the last scan
    assert scan(src)[0].counts["accepted"] == 1


def test_bad_rows_do_not_lose_good_rows(tmp_path: Path, hub: Hub, mapping: FolderMapping) -> None:
    src = CsvFolderSource(tmp_path / "drop", mapping, HubIntake(hub.ingest), hub.state, hub.clock,
                          settle_scans=0)
    drop = tmp_path / "drop"
    drop.mkdir()
    body = (HEADER + GOOD + "D1,2,P1,RM-X,-5,,RM01,PR01,2026-11-27T08:00:00+00:00\n"
            "D1,3,P7,RM-X,1,,RM01,PR01,2026-11-27T08:00:00+00:00\n" + "oops\n"
            + GOOD.replace("D1,1", "D1,4"))
    (drop / "mixed.csv").write_text(body)
    [result] = scan(src)
    assert result.outcome == "error"
    assert result.counts == {"accepted": 2, "duplicate": 0, "held": 0, "rejected": 3}
    report = json.loads((drop / "error" / "mixed.csv.report.json").read_text())
    by_line = {r["line"]: r for r in report["rows"]}
    assert by_line[3]["issues"][0]["path"] == "$.data.quantity.value"  # contract validation, line 3
    assert by_line[4]["issues"][0]["rule"] == "csv-value-map"
    assert by_line[5]["issues"][0]["rule"] == "csv-width"
    assert by_line[6]["status"] == "accepted"
    # fixed and dropped again: the good rows are duplicates, nothing is doubled
    (drop / "mixed-fixed.csv").write_text(HEADER + GOOD + GOOD.replace("D1,1", "D1,4"))
    [fixed] = scan(src)
    assert fixed.counts["duplicate"] == 2 and hub.journal.head() == 2


def test_unreadable_file_goes_to_error(tmp_path: Path, hub: Hub, mapping: FolderMapping) -> None:
    src = CsvFolderSource(tmp_path / "drop", mapping, HubIntake(hub.ingest), hub.state, hub.clock,
                          settle_scans=0)
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "bin.csv").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "drop" / "cols.csv").write_text("Doc,Line\n1,2\n")
    results = {r.name: r for r in scan(src)}
    assert results["bin.csv"].outcome == results["cols.csv"].outcome == "error"
    report = json.loads((tmp_path / "drop" / "error" / "cols.csv.report.json").read_text())
    assert report["status"] == "unreadable" and "Material" in report["error"]


def test_sink_writes_each_command_once(tmp_path: Path) -> None:
    sink = CsvFolderSink(tmp_path / "out")
    cmd = Command("legacy", "post_receipt", {"po": "1", "lines": [{"item": "A", "qty": "1"},
                                                                 {"item": "B", "qty": "2"}]})
    assert command_rows(cmd) == [{"po": "1", "lines.item": "A", "lines.qty": "1"},
                                 {"po": "1", "lines.item": "B", "lines.qty": "2"}]
    first = sink.execute("key-1", cmd)
    assert first["written"] is True and sink.execute("key-1", cmd)["written"] is False
    text = (tmp_path / "out" / first["file"]).read_text()
    assert text.splitlines() == ["po,lines.item,lines.qty", "1,A,1", "1,B,2"]
