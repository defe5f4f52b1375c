"""Property tests: emit -> parse gives back the same canonical document, for V0600 and V0701, and
every emitted document validates against its XSD and every event against its contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantwire.adapters._xml import parse_xml
from plantwire.adapters.b2mml.mapping import B2mmlMapping
from plantwire.adapters.b2mml.schemas import SchemaSet, Version
from plantwire.adapters.b2mml.sink import (
    emit_order_released,
    emit_production_performance,
    emit_production_schedule,
)
from plantwire.adapters.b2mml.source import B2mmlReader
from plantwire.adapters.b2mml.translate import schedule_commands
from plantwire.domain.catalog import CATALOG
from plantwire.domain.commands import DownloadProductionOrder
from plantwire.domain.production import ComponentConsumed, ProductionGoodsCompleted, ProductionOrderReleased
from plantwire.service.validation import validate_event

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "b2mml"
SCHEMAS = SchemaSet(CORPUS)
READER = B2mmlReader(B2mmlMapping(times_from_creation=True), SCHEMAS)
VERSIONS = st.sampled_from([Version.V0600, Version.V0701])
AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,20}", fullmatch=True)
uoms = st.sampled_from(["EA", "KG", "M", "L", "PCS"])
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999"), places=3)
times = st.integers(0, 10_000_000).map(lambda s: (AT + timedelta(seconds=s)).isoformat())


def qty(value: Decimal, uom: str) -> dict[str, str]:
    return {"value": str(value), "uom": uom}


@st.composite
def components(draw: Any, operations: bool) -> list[dict[str, Any]]:
    lines = draw(st.lists(st.integers(1, 9999), max_size=5, unique=True))
    found = []
    for line in lines:
        c: dict[str, Any] = {"line": line, "item_id": draw(ids), "quantity": qty(draw(amounts), draw(uoms))}
        location = draw(st.none() | ids)
        if location is not None:
            c["storage_location"] = location
        if operations:
            c["operation"] = draw(st.none() | st.sampled_from(["OP10", "OP20", "Weighing"]))
        found.append(c)
    return found


@st.composite
def commands(draw: Any) -> DownloadProductionOrder:
    return DownloadProductionOrder.model_validate({
        "order_id": draw(ids), "plant": draw(ids), "item_id": draw(ids), "quantity": qty(draw(amounts), "EA"),
        "work_center": draw(st.none() | ids), "components": draw(components(False))})


@st.composite
def releases(draw: Any) -> ProductionOrderReleased:
    start = draw(times)
    return ProductionOrderReleased.model_validate({
        "order_id": draw(ids), "plant": draw(ids), "item_id": draw(ids), "quantity": qty(draw(amounts), "KG"),
        "scheduled_start": start, "scheduled_end": start, "work_center": draw(st.none() | ids),
        "components": draw(components(True))})


@st.composite
def reports(draw: Any) -> tuple[ProductionGoodsCompleted, list[ComponentConsumed]]:
    order, plant, uom = draw(ids), draw(ids), draw(uoms)
    completed = ProductionGoodsCompleted.model_validate({
        "order_id": order, "plant": plant, "completion_id": draw(ids), "item_id": draw(ids),
        "yield_quantity": qty(draw(amounts), uom), "scrap_quantity": qty(draw(amounts), uom),
        "lot": draw(st.none() | ids), "storage_location": draw(ids), "completed_at": draw(times),
        "final": draw(st.booleans())})
    consumed = [ComponentConsumed.model_validate({
        "order_id": order, "plant": plant, "consumption_id": f"C{n}-{draw(ids)}", "item_id": draw(ids),
        "quantity": qty(draw(amounts), draw(uoms)), "lot": draw(st.none() | ids),
        "storage_location": draw(ids), "consumed_at": draw(times),
        "operation": draw(st.none() | ids), "work_center": draw(st.none() | ids)})
        for n in range(draw(st.integers(0, 3)))]
    return completed, consumed


def by_line(data: dict[str, Any]) -> dict[str, Any]:
    """Canonical component order is by line (a schedule nests per-operation components)."""
    return {**data, "components": sorted(data.get("components", []), key=lambda c: c["line"])}


def valid(data: bytes, version: Version) -> None:
    SCHEMAS.validate(parse_xml(data), version)


@PROPS
@given(commands(), VERSIONS)
def test_download_command_round_trips(cmd: DownloadProductionOrder, version: Version) -> None:
    data = emit_production_schedule(cmd, created_at=AT, version=version, key="key-1")
    valid(data, version)
    parsed = READER.parse(data)
    [again] = schedule_commands(parsed.document, READER.mapping)
    assert by_line(again.model_dump(mode="json")) == by_line(cmd.model_dump(mode="json"))
    [event] = parsed.events
    validate_event(event, CATALOG)
    assert event["id"] == f"ORD-{cmd.order_id}/released"


@PROPS
@given(releases(), VERSIONS)
def test_released_order_round_trips(order: ProductionOrderReleased, version: Version) -> None:
    data = emit_order_released(order, created_at=AT, version=version)
    valid(data, version)
    [event] = B2mmlReader(B2mmlMapping(), SCHEMAS).parse(data).events
    validate_event(event, CATALOG)
    assert event["data"] == by_line(order.model_dump(mode="json"))


@PROPS
@given(reports(), VERSIONS)
def test_completion_and_consumptions_round_trip(
        report: tuple[ProductionGoodsCompleted, list[ComponentConsumed]], version: Version) -> None:
    completed, consumed = report
    data = emit_production_performance(completed, consumed, created_at=AT, version=version)
    valid(data, version)
    events = B2mmlReader(B2mmlMapping(), SCHEMAS).parse(data).events
    for event in events:
        validate_event(event, CATALOG)
    assert [e["data"] for e in events] == [completed.model_dump(mode="json"),
                                           *(c.model_dump(mode="json") for c in consumed)]
    assert [e["type"] for e in events] == ["production.goods.completed"] + [
        "production.component.consumed"] * len(consumed)


def test_identities_come_from_the_document() -> None:
    cmd = DownloadProductionOrder.model_validate({"order_id": "1000001", "plant": "1000", "item_id": "FG-1",
                                                  "quantity": qty(Decimal(5), "EA")})
    first = READER.parse(emit_production_schedule(cmd, created_at=AT, key="k"))
    later = READER.parse(emit_production_schedule(cmd, created_at=AT + timedelta(hours=1), key="k2"))
    assert first.events[0]["id"] == later.events[0]["id"] == "ORD-1000001/released"
