"""B2MML conformance: every file of the V0401 corpus is parsed, validated against its XSD, mapped where
a contract exists and emitted back (V0600 and V0701); the broken PES file is rejected with a located
error. Writes the counts to tests/formats/_results/b2mml.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from plantwire.adapters.b2mml.mapping import B2mmlMapping
from plantwire.adapters.b2mml.schemas import SchemaSet, Version
from plantwire.adapters.b2mml.sink import emit_order_released, emit_production_performance
from plantwire.adapters.b2mml.source import B2mmlReader, Parsed
from plantwire.domain.catalog import CATALOG
from plantwire.domain.production import ComponentConsumed, ProductionGoodsCompleted, ProductionOrderReleased
from plantwire.errors import InvalidEvent
from plantwire.service.validation import validate_event

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "b2mml"
EXAMPLES = CORPUS / "examples-v0401-courbon"
RESULTS = Path(__file__).resolve().parent / "_results" / "b2mml.json"
BROKEN = "PES-*.xml"
AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)

COURBON = B2mmlMapping(plant="COURBON", times_from_creation=True, line_properties=("Indice",),
                       output_location="FG01", consumption_location="RM01")
"""What the Courbon MES leaves implicit, declared: one plant, no times on requests, line = Indice."""


def _reader() -> B2mmlReader:
    return B2mmlReader(COURBON, SchemaSet(CORPUS))


def _emit_back(parsed: Parsed, version: Version) -> list[dict[str, Any]]:
    """The parsed events emitted as a V0600 / V0701 document and parsed again."""
    released = [e for e in parsed.events if e["type"] == "production.order.released"]
    completed = [e for e in parsed.events if e["type"] == "production.goods.completed"]
    consumed = [ComponentConsumed.model_validate(e["data"]) for e in parsed.events
                if e["type"] == "production.component.consumed"]
    documents = [emit_order_released(ProductionOrderReleased.model_validate(e["data"]), created_at=AT,
                                     version=version) for e in released]
    documents += [emit_production_performance(ProductionGoodsCompleted.model_validate(e["data"]), consumed,
                                              created_at=AT, version=version) for e in completed[:1]]
    reader = B2mmlReader(B2mmlMapping(), SchemaSet(CORPUS))
    return [e for data in documents for e in reader.parse(data).events]


def _check(path: Path, reader: B2mmlReader, counts: dict[str, Any]) -> None:
    data = path.read_bytes()
    if path.match(BROKEN):
        with pytest.raises(InvalidEvent) as refused:
            reader.parse(data)
        issue = refused.value.issues[0]
        assert "(line " in issue.path and "releaseID" in issue.message, issue
        counts["rejected_as_expected"] += 1
        return
    parsed = reader.parse(data)
    assert parsed.version is Version.V0401
    counts["parsed"] += 1
    if not parsed.events:
        return
    for event in parsed.events:
        validate_event(event, CATALOG)
    counts["mapped"] += 1
    for version in (Version.V0600, Version.V0701):
        again = _emit_back(parsed, version)
        assert [e["data"] for e in again] == [e["data"] for e in parsed.events], version
    counts["round_tripped"] += 1


def test_every_corpus_file_is_handled() -> None:
    files = sorted(EXAMPLES.glob("*.xml"))
    assert files, f"no B2MML corpus at {EXAMPLES}"
    reader = _reader()
    counts: dict[str, Any] = {"format": "b2mml", "files": len(files), "parsed": 0, "mapped": 0,
                              "round_tripped": 0, "rejected_as_expected": 0, "failures": []}
    for path in files:
        try:
            _check(path, reader, counts)
        except (AssertionError, InvalidEvent, pytest.fail.Exception) as error:
            counts["failures"].append({"file": path.name, "error": str(error)[:500]})
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(counts, indent=2) + "\n", encoding="utf-8")
    print(f"\n{'format':8} {'files':>5} {'parsed':>6} {'mapped':>6} {'round-tripped':>13} {'rejected':>8}")
    print(f"{'b2mml':8} {counts['files']:>5} {counts['parsed']:>6} {counts['mapped']:>6} "
          f"{counts['round_tripped']:>13} {counts['rejected_as_expected']:>8}")
    assert not counts["failures"], counts["failures"]
    assert counts["parsed"] + counts["rejected_as_expected"] == counts["files"]


def test_schedule_maps_the_courbon_order() -> None:
    parsed = _reader().parse((EXAMPLES / "PRO-20121210181416-27942.xml").read_bytes())
    [event] = parsed.events
    assert event["id"] == "ORD-258456/released" and event["source"] == "b2mml/DEV130"
    data = event["data"]
    assert (data["item_id"], data["quantity"]) == ("SO1215", {"value": "1.000", "uom": "KG"})
    assert [(c["line"], c["item_id"], c["storage_location"], c["operation"]) for c in data["components"]] == [
        (10, "CRBN0001", "BOX3", "Weighing"), (20, "CRBN0002", "BOX1", "Weighing"),
        (30, "CRBN0001", "BOX3", "Weighing"), (40, "CRBN0003", "BOX4", "Weighing")]


def test_lots_parse_but_map_to_no_event() -> None:
    parsed = _reader().parse((EXAMPLES / "INV-20121210175555-0001L0001_01.xml").read_bytes())
    assert parsed.events == [] and parsed.document.kind == "lot"
    [lot] = parsed.document.lots
    assert lot.id == "CRBN0001_LOT01" and lot.sublots[0].status == "NotValid"


def test_a_schedule_without_declared_defaults_is_refused_where_it_lacks_them() -> None:
    reader = B2mmlReader(B2mmlMapping(), SchemaSet(CORPUS))
    with pytest.raises(InvalidEvent) as refused:
        reader.parse((EXAMPLES / "PRO-20121210181416-27942.xml").read_bytes())
    assert refused.value.issues[0].path.startswith("/SyncProductionSchedule/DataArea/ProductionSchedule[1]/")
