"""Offline: translate.py (and the source's reads around it) on Tryton answers recorded from the live rig
(tests/tryton/recorded, made by record_payloads.py). No rig needed."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from plantwire.adapters.simfeed import UnknownCrossReference
from plantwire.adapters.tryton import translate as t
from plantwire.adapters.tryton.client import TrytonUserError, TrytonWarning, decode, encode, error_of
from plantwire.adapters.tryton.mapping import TrytonMapping
from plantwire.adapters.tryton.source import TrytonSource
from plantwire.domain.catalog import CATALOG

RECORDED = Path(__file__).parent / "recorded"
MAPPING = TrytonMapping.from_tables({
    "item": {"RM-HOUSING-A": "RM-BRKT", "RM-BOLT-M8": "RM-BOLT", "RM-CU-CABLE": "RM-ALU",
             "RM-MOTOR-2KW": "RM-MOTOR", "FG-PUMP-100": "FG-CM100"},
    "plant": {"1000": "WH"}, "party": {"SUP-200": "4", "SUP-100": "3"},
    "location": {"RM01": "STO-RM", "MAIN": "STO", "DOCK": "IN"}})


class Replay:
    """Answers the source's search_read calls with what Tryton answered when recorded."""

    def __init__(self, reads: list[dict[str, Any]]) -> None:
        self.reads = {self._key(r["model"], r["domain"], r["fields"]): r["result"] for r in reads}

    @staticmethod
    def _key(model: str, domain: Any, fields: Any) -> str:
        return json.dumps([model, encode(domain), fields], sort_keys=True)

    def search_read(self, model: str, domain: list[Any], fields: list[str], **_: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = decode(self.reads[self._key(model, domain, fields)])
        return result


def replayed(name: str) -> tuple[str, dict[str, Any], TrytonSource]:
    data = json.loads((RECORDED / f"{name}.json").read_text())
    source = TrytonSource.__new__(TrytonSource)
    source.client, source.mapping = Replay(data["reads"]), MAPPING  # type: ignore[assignment]
    return data["model"], decode(data["record"]), source


def valid(event: dict[str, Any]) -> dict[str, Any]:
    """The event passes the hub's own contract (the catalog validates what the intake would)."""
    contract = CATALOG.get(event["type"], event["contractversion"])
    assert contract is not None, event["type"]
    contract.model.model_validate(event["data"])
    return event


def test_purchase_in_processing_is_po_approved() -> None:
    model, record, source = replayed("purchase_processing")
    event = valid(source._translate(model, record))
    assert event["type"] == "procurement.po.approved"
    assert event["id"] == f"purchase-{record['id']}/processing/r1"
    data = event["data"]
    assert (data["po_number"], data["supplier_id"], data["plant"], data["currency"]) == (
        record["number"], "SUP-200", "1000", "USD")
    assert [(ln["line"], ln["item_id"], ln["quantity"]) for ln in data["lines"]] == [
        (1, "RM-HOUSING-A", {"value": "12", "uom": "EA"}), (2, "RM-BOLT-M8", {"value": "48", "uom": "EA"}),
        (3, "RM-CU-CABLE", {"value": "7.2", "uom": "M"}), (4, "RM-MOTOR-2KW", {"value": "3", "uom": "EA"})]
    assert data["lines"][0]["unit_price"] == "10"
    assert data["approved_at"] == t.iso(record["write_date"])


def test_identity_is_stable_whatever_changes_later() -> None:
    model, record, source = replayed("purchase_processing")
    first = source._translate(model, record)
    later = dict(record, write_date=record["write_date"] + dt.timedelta(hours=1), state="done")
    assert source._translate(model, later)["id"] == first["id"]


def test_assigned_production_groups_split_inputs_per_product_and_bin() -> None:
    model, record, source = replayed("production_assigned")
    event = valid(source._translate(model, record))
    assert event["type"] == "production.order.released"
    assert event["id"] == f"production-{record['id']}/released/r1"
    data = event["data"]
    assert (data["order_id"], data["item_id"], data["quantity"]) == (
        record["number"], "FG-PUMP-100", {"value": "2", "uom": "EA"})
    comps = {(c["item_id"], c.get("storage_location")): c["quantity"] for c in data["components"]}
    assert comps == {("RM-MOTOR-2KW", "RM01"): {"value": "1", "uom": "EA"},
                     ("RM-CU-CABLE", "MAIN"): {"value": "4.8", "uom": "M"},
                     ("RM-BOLT-M8", "RM01"): {"value": "32", "uom": "EA"},
                     ("RM-HOUSING-A", "MAIN"): {"value": "8", "uom": "EA"}}
    assert data["scheduled_start"].startswith(record["planned_start_date"].isoformat())


def test_waiting_and_assigned_are_one_lifecycle_step() -> None:
    model, record, source = replayed("production_waiting")
    event = valid(source._translate(model, record))
    again = source._translate(model, dict(record, state="assigned"))
    assert event["id"] == again["id"] == f"production-{record['id']}/released/r1"
    assert sum(Decimal(c["quantity"]["value"]) for c in event["data"]["components"]
               if c["item_id"] == "RM-BOLT-M8") == 64


def test_done_shipment_made_in_tryton_is_goods_received_at_put_away_location() -> None:
    model, record, source = replayed("shipment_in_done")
    event = valid(source._translate(model, record))
    assert event["type"] == "procurement.goods.received"
    assert event["id"] == f"shipment.in-{record['id']}/received/r1"
    data = event["data"]
    assert data["receipt_id"] == f"TRYTON-IS-{record['number']}"
    assert (data["po_number"], data["supplier_id"]) == ("3", "SUP-100")
    got = [(ln["po_line"], ln["item_id"], ln["quantity"], ln["storage_location"]) for ln in data["lines"]]
    assert got == [
        (1, "RM-CU-CABLE", {"value": "40", "uom": "M"}, "MAIN"),
        (2, "RM-HOUSING-A", {"value": "50", "uom": "EA"}, "MAIN")]
    assert t.receipt_of(f"GR {data['receipt_id']} from dock") == str(record["number"])


def test_the_hubs_own_shipment_is_not_echoed() -> None:
    model, record, source = replayed("shipment_in_hub")
    assert record["reference"].startswith(t.MARK)
    assert source._translate(model, record) is None


def test_unmapped_product_is_refused_not_guessed() -> None:
    model, record, source = replayed("purchase_processing")
    source.mapping = TrytonMapping.from_tables({"plant": {"1000": "WH"}, "party": {"SUP-200": "4"}})
    with pytest.raises(UnknownCrossReference):
        source._translate(model, record)


def test_wire_types_round_trip() -> None:
    raw = json.loads((RECORDED / "purchase_processing.json").read_text())
    assert encode(decode(raw["record"])) == raw["record"]
    line = decode(raw["reads"][0]["result"])[0]
    assert isinstance(line["unit_price"], Decimal) and isinstance(line["delivery_date"], dt.date)


def test_errors_map_to_the_hub_tree() -> None:
    err = error_of("model.production.write", ["UserError", ["The value is not valid.", "Fix it.", None]])
    assert isinstance(err, TrytonUserError) and err.message == "The value is not valid."
    assert "Fix it." in str(err)
    warn = error_of("model.stock.move.do", ["UserWarning", ["stock.move.no_origin.1", "No origin.", None]])
    assert isinstance(warn, TrytonWarning) and warn.name == "stock.move.no_origin.1"


def test_reference_and_ledger() -> None:
    assert t.reference("gi/CM-1") == "PW:gi/CM-1"
    assert len(t.reference("x" * 300)) < 100 and t.reference("x" * 300) == t.reference("x" * 300)
    ledger = t.ledger_add(t.ledger_add(None, "a"), "b")
    assert t.in_ledger(ledger, "a") and t.in_ledger(ledger, "b") and not t.in_ledger(ledger, "c")
    assert t.parse_document(t.document("stock.shipment.in", 12, "IS7")) == ("stock.shipment.in", 12)
