"""The ingest hook: checks installed on a test hub; reject, quarantine (review) and warn; no loops."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mapping_fixtures import COMPLETION, OWNERS, PO, RECEIPT, RULES_TOML, event

from plantwire.bootstrap import Hub, bootstrap_for_tests
from plantwire.mapping.book import RuleBook
from plantwire.mapping.checks import MappingChecks
from plantwire.mapping.ownership import fan_out, outbound_marks, parse_book
from plantwire.mapping.rules import parse_text
from plantwire.mapping.xref import XrefStore


@pytest.fixture
def hub() -> Iterator[Hub]:
    h = bootstrap_for_tests()
    checks = MappingChecks(h.state, h.clock)
    h.ingest.checks = [checks.check]  # a fresh instance: no idle caching between a load and a check
    h.ingest.hold = checks.hold
    yield h


def load(hub: Hub) -> None:
    book = RuleBook(hub.state, hub.clock)
    book.load_rules(parse_text(RULES_TOML, "toml"), "test")
    book.load_owners(parse_book(OWNERS), "test")
    XrefStore(hub.state, hub.clock).set("erp", "item", "20000011", "RM-HOUSING-A", "test")


def submit(hub: Hub, *events: dict[str, Any]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in hub.ingest.submit_sync(list(events))]


def test_no_checks_no_change() -> None:
    plain = bootstrap_for_tests()
    [r] = submit(plain, RECEIPT)
    assert r == {"index": 0, "status": "accepted", "source": "wms/plant-1000", "id": "GR-1", "seq": 1,
                 "duplicate": False}


def test_checks_without_rules_pass_everything(hub: Hub) -> None:
    assert submit(hub, RECEIPT)[0]["status"] == "accepted"


def test_unknown_item_is_rejected_naming_system_field_and_value(hub: Hub) -> None:
    load(hub)
    bad = event(RECEIPT)
    bad["data"]["lines"][0]["item_id"] = "RM-NOPE"
    [r] = submit(hub, bad)
    assert r["status"] == "rejected" and hub.journal.head() == 0
    errors = {e["rule"]: e for e in r["errors"]}
    assert errors["item-known"]["path"] == "$.data.lines[0].item_id"
    assert "erp" in errors["item-known"]["message"] and "'RM-NOPE'" in errors["item-known"]["message"]
    assert "purchase order '4500000001' is not known" in errors["po-line-exists"]["message"]


def test_quarantine_then_approve_journals_it(hub: Hub) -> None:
    load(hub)
    assert submit(hub, PO)[0]["status"] == "accepted"
    hub.drain()  # the ATP read model now knows the PO and its line 10
    [r] = submit(hub, RECEIPT)  # no lot at plant 1000: held for review
    assert r["status"] == "held" and "seq" not in r and r["review"]
    assert r["held"][0]["rule"] == "receipt-lot-at-1000"
    assert hub.journal.get("wms/plant-1000", "GR-1") is None
    assert submit(hub, RECEIPT)[0]["review"] == r["review"]  # a resend is held once
    checks = MappingChecks(hub.state, hub.clock)
    approved = checks.review.approve(r["review"], hub.journal, "qa", "lot recorded on paper")
    assert hub.journal.get("wms/plant-1000", "GR-1") is not None and approved["seq"] is not None


def test_warning_is_journaled_with_the_warning_in_the_receipt(hub: Hub) -> None:
    load(hub)
    submit(hub, PO)
    hub.drain()
    big = event(RECEIPT, id="GR-2")
    big["data"]["lines"][0].update(quantity={"value": "5000", "uom": "EA"}, lot="L1")
    [r] = submit(hub, big)
    assert r["status"] == "accepted" and r["seq"] is not None
    assert [w["rule"] for w in r["warnings"]] == ["receipt-qty-sane"]


def test_bad_po_line_is_rejected(hub: Hub) -> None:
    load(hub)
    submit(hub, PO)
    hub.drain()
    wrong = event(RECEIPT, id="GR-3")
    wrong["data"]["lines"][0].update(po_line=30, lot="L1")
    [r] = submit(hub, wrong)
    assert r["status"] == "rejected"
    assert r["errors"] == [{"path": "$.data.lines[0].po_line", "rule": "po-line-exists",
                            "message": "$.data.lines[0].po_line: purchase order '4500000001' has no line 30"}]


def test_ownership_round_trip_does_not_loop(hub: Hub) -> None:
    load(hub)
    book = parse_book(OWNERS)
    # the MES owns actual yield: its completion is accepted and goes out to the ERP
    [r] = submit(hub, COMPLETION)
    assert r["status"] == "accepted"
    assert fan_out(book, COMPLETION["type"], COMPLETION["data"], COMPLETION["source"], {}) == {
        "erp": ["production_order.actual_yield"]}
    # the ERP applies it and reports the change back, carrying plantwire's marks: not refused, not resent
    echo = event(COMPLETION, id="ERP-CONF-1", source="erp/plant-1000",
                 **outbound_marks(COMPLETION["source"], COMPLETION["id"]))
    [back] = submit(hub, echo)
    assert back["status"] == "accepted" and "errors" not in back
    stored = hub.journal.get("erp/plant-1000", "ERP-CONF-1")
    assert stored is not None
    env = stored.envelope
    assert fan_out(book, env.type, env.data, env.source, env.extensions) == {}
    # the same change from the ERP on its own is a non-owner update: refused
    [own] = submit(hub, event(COMPLETION, id="ERP-CONF-2", source="erp/plant-1000"))
    assert own["status"] == "rejected" and own["errors"][0]["rule"] == "system-of-record"
    # a WMS-owned bin changed by the MES is held for review instead
    transfer = {"specversion": "1.0", "id": "TR-1", "source": "mes/plant-1000", "contractversion": "1",
                "type": "inventory.transferred", "data": {
                    "transfer_id": "TR-1", "plant": "1000", "item_id": "FG-PUMP-100",
                    "quantity": {"value": "1", "uom": "EA"}, "from_location": "FG01", "to_location": "WH01",
                    "transferred_at": "2026-11-27T13:04:00+00:00"}}
    [held] = submit(hub, transfer)
    assert held["review"] and held["held"][0]["rule"] == "system-of-record"
