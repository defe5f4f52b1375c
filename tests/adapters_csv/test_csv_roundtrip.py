"""Emit → parse for the CSV format: a canonical transfer written by the folder sink and read back
by the folder source's mapping gives the same canonical document, and it passes its contract."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from plantwire.adapters.csv.sink import command_rows, render
from plantwire.adapters.csv.translate import mapping_from_dict, read_rows, row_event
from plantwire.domain.catalog import CATALOG
from plantwire.ports import Command
from plantwire.service.validation import validate_event

MAPPING = mapping_from_dict({
    "name": "transfers", "type": "inventory.transferred", "source": "legacy/plant-1000",
    "id": "{transfer_id}", "fields": {
        "transfer_id": "transfer_id", "plant": "plant", "item_id": "item_id",
        "quantity.value": "quantity.value", "quantity.uom": "quantity.uom",
        "from_location": "from_location", "to_location": "to_location",
        "transferred_at": "transferred_at", "lot": {"column": "lot", "optional": True}}})

ids = st.text("ABCDEFGHJKLMNPRSTUVWXYZ0123456789-_,\" ", min_size=1, max_size=20).map(str.strip).filter(
    lambda s: bool(s) and not s.startswith("-"))
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999999"), places=3)


@settings(max_examples=80, derandomize=True, database=None)
@given(transfer_id=ids, item=ids, lot=st.none() | ids, qty=amounts,
       locations=st.tuples(ids, ids).filter(lambda p: p[0] != p[1]))
def test_written_transfer_reads_back_the_same(transfer_id: str, item: str, lot: str | None,
                                              qty: Decimal, locations: tuple[str, str]) -> None:
    data = {"transfer_id": transfer_id, "plant": "1000", "item_id": item,
            "quantity": {"value": str(qty), "uom": "EA"}, "from_location": locations[0],
            "to_location": locations[1], "transferred_at": "2026-11-27T08:00:00+00:00"}
    if lot is not None:
        data["lot"] = lot
    text = render(command_rows(Command("legacy", "transfer", data)))
    header, rows = read_rows(text)
    [(line, row)] = rows
    assert row is not None and line == 2
    event = row_event(MAPPING, row, line)
    assert event["data"] == data and event["id"] == transfer_id
    pending = validate_event(event, CATALOG)
    assert Decimal(pending.envelope.data["quantity"]["value"]) == qty
