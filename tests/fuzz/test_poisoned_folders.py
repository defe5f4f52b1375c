"""A poisoned document costs only itself: the X12 file drop and the B2MML folder file it in error/ with a
located report and read the next file, into a real hub (issue #13 item 3). The CSV folder has the same
guarantee in tests/adapters_csv/test_csv_malformed.py."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz_seeds import CORPUS

from plantwire.adapters.b2mml.client import B2mmlFolder
from plantwire.adapters.b2mml.mapping import B2mmlMapping
from plantwire.adapters.b2mml.schemas import SchemaSet
from plantwire.adapters.b2mml.source import B2mmlFolderSource, B2mmlReader
from plantwire.adapters.x12.client import FileDrop
from plantwire.adapters.x12.mapping import Partner
from plantwire.adapters.x12.source import X12Source
from plantwire.bootstrap import Hub, Settings, bootstrap_for_tests
from plantwire.service.intake import HubIntake

GIANT = b"1E999999999"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    built = bootstrap_for_tests(settings=Settings(data_dir=tmp_path / "hub"), durable=True)
    try:
        yield built
    finally:
        built.close()


def test_x12_drop_files_poisoned_documents_and_reads_the_next(tmp_path: Path, hub: Hub) -> None:
    good = (CORPUS / "x12/node-x12/850.edi").read_bytes()
    po1 = re.search(rb"PO1\*[^*]*\*(\d+)", good)
    assert po1 is not None
    giant = good[:po1.start(1)] + GIANT + good[po1.end(1):]
    drop = FileDrop(tmp_path / "in", tmp_path / "out")
    drop.inbox.mkdir()
    (drop.inbox / "a-giant.x12").write_bytes(giant)
    (drop.inbox / "b-binary.x12").write_bytes(b"\xff\xfe\x00ISA" * 100)
    (drop.inbox / "c-good.x12").write_bytes(good)
    results = asyncio.run(X12Source(HubIntake(hub.ingest), drop, Partner(), hub.clock).poll())
    assert (drop.inbox / "done" / "c-good.x12").exists() and len(results[-1].events) == 1
    giant_report = (drop.inbox / "error" / "a-giant.x12.report.txt").read_text()
    assert "PO102" in giant_report and "1E999999999" in giant_report, giant_report
    assert (drop.inbox / "error" / "b-binary.x12.report.txt").read_text().strip()
    assert not list(drop.inbox.glob("*.x12"))  # every file was handled, none left behind


def test_b2mml_folder_files_poisoned_documents_and_reads_the_next(tmp_path: Path, hub: Hub) -> None:
    good = (CORPUS / "b2mml/examples-v0401-courbon/PRO-20121210181416-27942.xml").read_bytes()
    quantity = re.search(rb"<QuantityString>([^<]*)</QuantityString>", good)
    assert quantity is not None
    giant = good[:quantity.start(1)] + GIANT + good[quantity.end(1):]
    folder = B2mmlFolder(tmp_path, max_bytes=len(good) + 1000)
    (tmp_path / "inbox" / "a-giant.xml").write_bytes(giant)
    (tmp_path / "inbox" / "b-too-big.xml").write_bytes(good + b"<!--" + b"x" * 5000 + b"-->")
    (tmp_path / "inbox" / "c-good.xml").write_bytes(good)
    mapping = B2mmlMapping(plant="COURBON", times_from_creation=True, line_properties=("Indice",))
    reader = B2mmlReader(mapping, SchemaSet(CORPUS / "b2mml"))
    source = B2mmlFolderSource(folder, HubIntake(hub.ingest), reader)
    assert asyncio.run(source.poll_once()) == 1
    assert (tmp_path / "done" / "c-good.xml").exists()
    giant_report = (tmp_path / "error" / "a-giant.xml.report.txt").read_text()
    assert "QuantityString" in giant_report and "decimal_exponent" in giant_report, giant_report
    assert (tmp_path / "error" / "b-too-big.xml.report.txt").read_text().strip()
    assert source.quarantine.count == 2
