"""Malformed CSV (issue #13): a record the csv module cannot read rejects its file with the line
number, never stops the watched folder, and never lets rows vanish into a cell that swallowed them."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plantwire.adapters.csv.source import CsvFolderSource
from plantwire.adapters.csv.translate import mapping_from_dict, read_rows
from plantwire.bootstrap import Hub, Settings, bootstrap_for_tests
from plantwire.errors import ConfigurationError, InvalidEvent
from plantwire.service.intake import HubIntake

MAPPING: dict[str, Any] = {"folder": {
    "name": "legacy-wms", "type": "inventory.transferred", "source": "csv/legacy-wms",
    "id": "TR-{Doc}-{Line}", "time": "When",
    "fields": {"transfer_id": {"template": "{Doc}-{Line}"}, "plant": {"const": "1000"},
               "item_id": "Material", "quantity.value": "Qty", "quantity.uom": {"const": "EA"},
               "from_location": "From", "to_location": "To", "transferred_at": "When"}}}
HEADER = "Doc,Line,Material,Qty,From,To,When,Note\n"


def row(doc: str, line: int, note: str = "ok") -> str:
    return f"{doc},{line},RM-BOLT-M8,10,RM01,PR01,2026-11-27T08:00:00+00:00,{note}\n"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    built = bootstrap_for_tests(settings=Settings(data_dir=tmp_path / "hub"), durable=True)
    try:
        yield built
    finally:
        built.close()


def folder_source(tmp_path: Path, hub: Hub, mapping: dict[str, Any] = MAPPING) -> CsvFolderSource:
    (tmp_path / "drop").mkdir(exist_ok=True)
    return CsvFolderSource(tmp_path / "drop", mapping_from_dict(mapping), HubIntake(hub.ingest),
                           hub.state, hub.clock, settle_scans=0)


def report(tmp_path: Path, outcome: str, name: str) -> dict[str, Any]:
    return dict(json.loads((tmp_path / "drop" / outcome / f"{name}.report.json").read_text()))


def test_unterminated_quote_rejects_the_file_with_its_line(tmp_path: Path, hub: Hub) -> None:
    src = folder_source(tmp_path, hub)
    body = HEADER + row("D1", 1) + row("D1", 2, '"never closed') + row("D1", 3) + row("D1", 4)
    (tmp_path / "drop" / "swallow.csv").write_text(body)
    [result] = asyncio.run(src.scan_once())
    assert result.outcome == "error"
    found = report(tmp_path, "error", "swallow.csv")
    assert found["status"] == "unreadable" and found["issues"][0]["path"] == "line 3"
    assert found["issues"][0]["rule"] == "csv-syntax"
    assert hub.journal.head() == 0  # nothing of a file that cannot be read whole is kept


def test_quote_closed_rows_later_is_refused_unless_declared(tmp_path: Path, hub: Hub) -> None:
    body = HEADER + row("D1", 1, '"opens here') + row("D1", 2) + row("D1", 3, 'closes here"')
    with pytest.raises(InvalidEvent) as info:
        read_rows(body)
    [issue] = info.value.issues
    assert (issue.path, issue.rule) == ("line 2", "csv-multiline") and "line 4" in issue.message
    # a mapping that declares line breaks in cells reads the same text as one record
    declared = mapping_from_dict({"folder": {**MAPPING["folder"], "multiline": True}})
    _, rows = read_rows(body, declared.delimiter, multiline=declared.multiline)
    assert [line for line, _ in rows] == [2]


def test_cell_over_the_field_limit_costs_its_file_not_the_folder(tmp_path: Path, hub: Hub) -> None:
    src = folder_source(tmp_path, hub)
    huge = "x" * (csv.field_size_limit() + 10)
    (tmp_path / "drop" / "a-huge.csv").write_text(HEADER + row("D1", 1) + row("D2", 1, huge))
    (tmp_path / "drop" / "b-good.csv").write_text(HEADER + row("D3", 1))
    results = {r.name: r.outcome for r in asyncio.run(src.scan_once())}
    assert results == {"a-huge.csv": "error", "b-good.csv": "done"}
    issue = report(tmp_path, "error", "a-huge.csv")["issues"][0]
    assert (issue["path"], issue["rule"]) == ("line 3", "csv-syntax")
    assert hub.journal.get("csv/legacy-wms", "TR-D3-1") is not None
    assert hub.journal.get("csv/legacy-wms", "TR-D1-1") is None


def test_stray_quote_and_nul_are_located(tmp_path: Path) -> None:
    for body, line in ((HEADER + row("D1", 1) + row("D1", 2, '"quoted"tail'), 3),
                       (HEADER + row("D1", 1, "nul\0byte"), 2)):
        with pytest.raises(InvalidEvent) as info:
            read_rows(body)
        assert info.value.issues[0].path == f"line {line}"


def test_repeated_header_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidEvent) as info:
        read_rows("Doc,Qty,Doc\n1,2,3\n")
    assert (info.value.issues[0].path, info.value.issues[0].rule) == ("line 1", "csv-header")


def test_poisoned_file_then_good_file_keeps_the_folder_running(tmp_path: Path, hub: Hub) -> None:
    src = folder_source(tmp_path, hub)
    stop = asyncio.Event()
    src.interval = 0.01

    async def go() -> None:
        task = asyncio.create_task(src.run(stop))
        try:
            (tmp_path / "drop" / "1-poison.csv").write_bytes(HEADER.encode() + b'D1,1,"' + b"y" * 200_000)
            while not (tmp_path / "drop" / "error" / "1-poison.csv").exists():
                await asyncio.sleep(0.01)
            (tmp_path / "drop" / "2-good.csv").write_text(HEADER + row("D9", 1))
            while not (tmp_path / "drop" / "done" / "2-good.csv").exists():
                assert not task.done(), "the folder loop ended"
                await asyncio.sleep(0.01)
        finally:
            stop.set()
            await task

    asyncio.run(go())
    assert hub.journal.get("csv/legacy-wms", "TR-D9-1") is not None
    assert report(tmp_path, "error", "1-poison.csv")["issues"][0]["path"] == "line 2"


def test_declared_mapping_type_errors_name_the_key() -> None:
    with pytest.raises(ConfigurationError) as info:
        mapping_from_dict({"folder": {**MAPPING["folder"], "multiline": "yes"}})
    assert "multiline" in str(info.value)



class FailsOnce:
    """The hub's intake, but the first call breaks with an error that is not ours (a bug)."""

    def __init__(self, inner: HubIntake) -> None:
        self.inner, self.calls = inner, 0

    async def accept(self, events: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise KeyError("quantity")
        return await self.inner.accept(events)


def test_a_bug_while_processing_costs_one_file(tmp_path: Path, hub: Hub) -> None:
    (tmp_path / "drop").mkdir()
    src = CsvFolderSource(tmp_path / "drop", mapping_from_dict(MAPPING), FailsOnce(HubIntake(hub.ingest)),
                          hub.state, hub.clock, settle_scans=0)
    (tmp_path / "drop" / "a.csv").write_text(HEADER + row("D1", 1))
    (tmp_path / "drop" / "b.csv").write_text(HEADER + row("D2", 1))
    results = {r.name: r.outcome for r in asyncio.run(src.scan_once())}
    assert results == {"a.csv": "error", "b.csv": "done"}
    failed = report(tmp_path, "error", "a.csv")
    assert failed["status"] == "failed" and failed["issues"][0]["rule"] == "internal-error"
    assert hub.journal.get("csv/legacy-wms", "TR-D2-1") is not None
