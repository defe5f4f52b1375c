"""Pure functions of the mapping layer: paths, units and rounding, rules, ownership."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from mapping_fixtures import OWNERS, RECEIPT, RULES_TOML

from plantwire.domain.quantities import Quantity, UnknownConversion, UomConversion, convert
from plantwire.errors import RequestRejected
from plantwire.mapping.findings import set_at, values_at
from plantwire.mapping.ownership import fan_out, is_echo, judge, origin, outbound_marks, parse_book
from plantwire.mapping.rules import evaluate, parse_rules, parse_text, rule_dict
from plantwire.mapping.uom import (
    Rounding,
    RoundingUndeclared,
    convert_declared,
    ratio,
    round_fraction,
    terminating,
)


def test_paths_read_every_element_and_name_the_json_path() -> None:
    data = {"lines": [{"item": "A"}, {"item": None}, {}], "po": "1"}
    assert list(values_at(data, "lines[*].item")) == [
        ("$.data.lines[0].item", "A"), ("$.data.lines[1].item", None), ("$.data.lines[2].item", None)]
    assert list(values_at(data, "missing.deep")) == [("$.data.missing.deep", None)]
    out: dict[str, Any] = {}
    set_at(out, "lines[1].quantity.value", "3")
    assert out == {"lines": [None, {"quantity": {"value": "3"}}]}


BOX = [UomConversion(from_uom="BOX", to_uom="EA", factor=Decimal(12), item_id="X"),
       UomConversion(from_uom="BOX", to_uom="EA", factor=Decimal(10)),
       UomConversion(from_uom="KG", to_uom="G", factor=Decimal(1000)),
       UomConversion(from_uom="EA", to_uom="KG", factor=Decimal("0.3"), item_id="X")]


def test_item_conversion_beats_global_and_chains_exactly() -> None:
    assert ratio("BOX", "EA", BOX, "X") == 12
    assert ratio("BOX", "EA", BOX, "Y") == 10
    assert ratio("BOX", "G", BOX, "X") == Fraction(3600)
    assert ratio("EA", "BOX", BOX, "X") == Fraction(1, 12)
    with pytest.raises(UnknownConversion, match="for item 'Y'"):
        ratio("EA", "KG", BOX, "Y")


def test_exact_results_match_the_domain_convert() -> None:
    qty = Quantity(value=Decimal("2.5"), uom="BOX")
    ours = convert_declared(qty, "G", BOX, {}, "X")
    assert ours.value == convert(qty, "G", BOX, "X").value == Decimal(9000)


def test_inexact_needs_a_declared_rounding_rule() -> None:
    qty = Quantity(value=Decimal(7), uom="EA")
    with pytest.raises(RoundingUndeclared, match="declare a rounding rule for BOX"):
        convert_declared(qty, "BOX", BOX, {}, "X")
    rounded = convert_declared(qty, "BOX", BOX, {"BOX": Rounding(3, "half-up")}, "X")
    assert rounded.value == Decimal("0.583")
    up = convert_declared(qty, "BOX", BOX, {"BOX": Rounding(0, "up")}, "X")
    assert up.value == Decimal(1)


@pytest.mark.parametrize(("mode", "pos", "neg"), [
    ("half-up", "3", "-3"), ("half-down", "2", "-2"), ("half-even", "2", "-2"),
    ("up", "3", "-3"), ("down", "2", "-2"), ("ceiling", "3", "-2"), ("floor", "2", "-3")])
def test_rounding_modes_at_a_tie(mode: str, pos: str, neg: str) -> None:
    rule = Rounding(0, mode)
    assert round_fraction(Fraction(5, 2), rule) == Decimal(pos)
    assert round_fraction(Fraction(-5, 2), rule) == Decimal(neg)


def test_rounding_of_non_ties_and_terminating_check() -> None:
    assert round_fraction(Fraction(2, 3), Rounding(2, "half-even")) == Decimal("0.67")
    assert round_fraction(Fraction(7, 2), Rounding(0, "half-even")) == Decimal(4)
    assert terminating(Fraction(1, 8)) == Decimal("0.125")
    assert terminating(Fraction(1, 3)) is None
    with pytest.raises(ValueError, match="rounding mode"):
        Rounding(2, "bankers")


class FakeLookups:
    def __init__(self, items: set[str], pos: dict[str, set[str]]) -> None:
        self.items, self.pos = items, pos

    def golden_known(self, kind: str, golden: str, system: str | None) -> bool:
        return kind == "item" and golden in self.items

    def system_known(self, system: str, kind: str, system_id: str) -> bool:
        return system == "erp" and system_id.isdigit()

    def po_lines(self, po_number: str) -> set[str] | None:
        return self.pos.get(po_number)


def test_rules_from_toml_judge_a_receipt() -> None:
    rules = parse_text(RULES_TOML, "toml")
    data = RECEIPT["data"]
    clean = FakeLookups({"RM-HOUSING-A"}, {"4500000001": {"10"}})
    found = evaluate(rules, RECEIPT["type"], data, "1000", clean)
    assert [(f.severity, f.issue.rule, f.issue.path) for f in found] == [
        ("quarantine", "receipt-lot-at-1000", "$.data.lines[0].lot")]
    assert evaluate(rules, RECEIPT["type"], data, "2000", clean) == []  # the lot rule is plant 1000's
    dirty = FakeLookups(set(), {"4500000001": {"20"}})
    found = evaluate(rules, RECEIPT["type"], data, "2000", dirty)
    messages = {f.issue.rule: f.issue.message for f in found}
    assert "unknown item 'RM-HOUSING-A'" in messages["item-known"]
    assert "system erp" in messages["item-known"] and "$.data.lines[0].item_id" in messages["item-known"]
    assert "has no line 10" in messages["po-line-exists"]
    missing_po = evaluate(rules, RECEIPT["type"], data, "2000", FakeLookups({"RM-HOUSING-A"}, {}))
    assert [f.issue.message for f in missing_po] == [
        "$.data.po_number: purchase order '4500000001' is not known"]


def test_range_one_of_and_system_id_rules() -> None:
    rules = parse_rules([
        {"id": "qty", "contract": "t", "kind": "range", "path": "q", "max": 10, "severity": "warn"},
        {"id": "st", "contract": "t", "kind": "one_of", "path": "s", "values": ["a", "b"]},
        {"id": "mat", "contract": "t", "kind": "xref", "path": "m", "xref_kind": "item", "ids": "system",
         "system": "erp"}])
    found = evaluate(rules, "t", {"q": "11", "s": "c", "m": "X1"}, None, FakeLookups(set(), {}))
    assert [(f.severity, f.issue.rule) for f in found] == [
        ("warn", "qty"), ("reject", "st"), ("reject", "mat")]
    assert "unknown erp item id 'X1'" in found[2].issue.message
    assert evaluate(rules, "t", {"q": "10", "s": "a", "m": "123"}, None, FakeLookups(set(), {})) == []
    assert rule_dict(rules[0]) == {"id": "qty", "contract": "t", "kind": "range", "path": "q",
                                   "severity": "warn", "max": "10"}


@pytest.mark.parametrize("bad", [
    [{"id": "x", "contract": "t", "kind": "nope", "path": "a"}],
    [{"id": "x", "contract": "t", "kind": "range", "path": "a"}],
    [{"id": "x", "contract": "t", "kind": "required", "path": "a", "severity": "loud"}],
    [{"id": "x", "contract": "t", "kind": "required", "path": "a", "colour": "red"}],
    [{"id": "x", "contract": "t", "kind": "required", "path": "a"}] * 2])
def test_bad_rules_are_refused_with_their_index(bad: list[dict[str, Any]]) -> None:
    with pytest.raises(RequestRejected) as info:
        parse_rules(bad)
    assert info.value.path.startswith("$.rules[")


def test_bad_rule_file_text() -> None:
    with pytest.raises(RequestRejected, match="not valid TOML"):
        parse_text("[[rule]\n", "toml")


def test_ownership_refuses_non_owners_and_ignores_echoes() -> None:
    book = parse_book(OWNERS)
    data = {"order_id": "1", "yield_quantity": {"value": "3", "uom": "EA"}}
    t = "production.goods.completed"
    assert judge(book, t, data, "mes/plant-1000", {}) == []
    [finding] = judge(book, t, data, "erp/plant-1000", {})
    assert finding.severity == "reject" and finding.issue.path == "$.data.yield_quantity"
    assert finding.issue.message == "erp may not update production_order.actual_yield: mes owns it"
    assert judge(book, t, data, "erp/plant-1000", outbound_marks("mes/plant-1000", "COMP-1")) == []
    assert origin("x", {"sourcesystem": "wms"}, book.sources) == "wms"
    assert fan_out(book, t, data, "mes/plant-1000", {}) == {"erp": ["production_order.actual_yield"]}
    assert fan_out(book, t, data, "erp/plant-1000", {}) == {}
    assert is_echo({"causationid": "plantwire:mes/plant-1000#COMP-1"})
