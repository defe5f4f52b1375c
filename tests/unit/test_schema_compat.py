"""The compatibility checker: each rule fires on a narrowing, and widening passes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from plantwire.domain.catalog import CATALOG
from plantwire.domain.compat import RULES, Incompatibility, check_compatible

PO = "procurement.po.approved.v1.json"
ACK = "procurement.supplier.acknowledged.v1.json"
RELEASED = "production.order.released.v1.json"
CONSUMED = "production.component.consumed.v1.json"
DELAYED = "procurement.shipment.delayed.v1.json"


@pytest.fixture()
def old() -> dict[str, dict[str, Any]]:
    return CATALOG.export()


@pytest.fixture()
def new(old: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return copy.deepcopy(old)


def found(old: dict[str, Any], new: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(i.contract, i.path, i.rule) for i in check_compatible(old, new)}


def only(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"x.v1.json": schema}


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False}


def test_identical_exports_are_compatible(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert check_compatible(old, new) == []


def test_adding_an_optional_field_is_compatible(old: dict[str, Any], new: dict[str, Any]) -> None:
    new[PO]["properties"]["buyer"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    new[PO]["$defs"]["PurchaseOrderLine"]["properties"]["note"] = {"type": "string"}
    assert check_compatible(old, new) == []


def test_adding_contracts_and_versions_is_compatible(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    new["production.order.released.v2.json"] = copy.deepcopy(new[RELEASED])
    new["inventory.adjusted.v1.json"] = obj(adjustment_id={"type": "string"})
    assert check_compatible(old, new) == []


def test_widening_is_compatible(old: dict[str, Any], new: dict[str, Any]) -> None:
    props = new[PO]["properties"]
    props["po_number"]["maxLength"] = 128
    del props["po_number"]["pattern"]
    props["revision"]["maximum"] = 10**9
    props["currency"] = {"type": ["string", "null"]}
    new[PO]["required"].remove("approved_at")
    new[ACK]["$defs"]["AckStatus"]["enum"].append("pending")
    line = new[PO]["$defs"]["PurchaseOrderLine"]
    line["properties"]["line"] = {"type": "number"}
    assert check_compatible(old, new) == []


def test_removed_contract_is_reported(old: dict[str, Any], new: dict[str, Any]) -> None:
    del new[ACK]
    [problem] = check_compatible(old, new)
    assert (problem.contract, problem.path, problem.rule) == (ACK, "$", "contract-removed")
    assert ACK in problem.message


def test_removed_fields_are_reported_top_level_and_nested(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    del new[CONSUMED]["properties"]["lot"]
    del new[PO]["$defs"]["PurchaseOrderLine"]["properties"]["unit_price"]
    assert found(old, new) == {
        (CONSUMED, "$.lot", "field-removed"),
        (PO, "$.lines[].unit_price", "field-removed"),
    }


def test_newly_required_field_is_reported(old: dict[str, Any], new: dict[str, Any]) -> None:
    new[PO]["$defs"]["PurchaseOrderLine"]["required"].append("unit_price")
    new[RELEASED]["properties"]["priority"] = {"type": "integer"}
    new[RELEASED]["required"].append("priority")
    problems = check_compatible(old, new)
    assert {(p.contract, p.path, p.rule) for p in problems} == {
        (PO, "$.lines[].unit_price", "field-now-required"),
        (RELEASED, "$.priority", "field-now-required"),
    }
    assert any("was optional" in p.message for p in problems)
    assert any("was absent" in p.message for p in problems)


def test_optional_made_non_nullable_is_a_type_narrowing(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    new[CONSUMED]["properties"]["lot"] = new[CONSUMED]["properties"]["lot"]["anyOf"][0]
    [problem] = check_compatible(old, new)
    assert (problem.path, problem.rule) == ("$.lot", "type-narrowed")
    assert "null" in problem.message


def test_decimal_branch_removed_is_a_type_narrowing(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    value = new[PO]["$defs"]["PositiveQuantity"]["properties"]["value"]
    value["anyOf"] = value["anyOf"][1:]  # only strings now, numbers refused
    assert found(old, new) == {(PO, "$.lines[].quantity.value", "type-narrowed")}


@pytest.mark.parametrize(
    ("old_type", "new_type"),
    [(["string", "number"], "string"), ("string", "integer"), ("number", "integer"),
     ("integer", {"anyOf": [{"type": "string"}]})],
)
def test_type_narrowings(old_type: Any, new_type: Any) -> None:
    new_field = new_type if isinstance(new_type, dict) else {"type": new_type}
    problems = check_compatible(only(obj(a={"type": old_type})), only(obj(a=new_field)))
    assert [(p.path, p.rule) for p in problems] == [("$.a", "type-narrowed")]


def test_integer_into_number_is_a_widening() -> None:
    assert check_compatible(only(obj(a={"type": "integer"})), only(obj(a={"type": "number"}))) == []


def test_removed_enum_value_is_reported(old: dict[str, Any], new: dict[str, Any]) -> None:
    new[ACK]["$defs"]["AckStatus"]["enum"].remove("rejected")
    [problem] = check_compatible(old, new)
    assert (problem.path, problem.rule) == ("$.lines[].status", "enum-narrowed")
    assert "rejected" in problem.message


def test_enum_on_a_free_string_is_reported(old: dict[str, Any], new: dict[str, Any]) -> None:
    new[PO]["properties"]["currency"]["enum"] = ["EUR", "USD"]
    assert found(old, new) == {(PO, "$.currency", "enum-narrowed")}


@pytest.mark.parametrize(
    ("old_field", "new_field"),
    [
        ({"type": "string", "maxLength": 64}, {"type": "string", "maxLength": 32}),
        ({"type": "string"}, {"type": "string", "minLength": 2}),
        ({"type": "string"}, {"type": "string", "pattern": "^[0-9]+$"}),
        ({"type": "string", "pattern": "^.+$"}, {"type": "string", "pattern": "^[0-9]+$"}),
        ({"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}),
        ({"type": "number"}, {"type": "number", "minimum": 0}),
        ({"type": "number", "minimum": 0}, {"type": "number", "exclusiveMinimum": 0}),
        ({"type": "number", "maximum": 10}, {"type": "number", "exclusiveMaximum": 10}),
        ({"type": "number", "maximum": 10}, {"type": "number", "maximum": 9.5}),
        ({"type": "number", "multipleOf": 0.5}, {"type": "number", "multipleOf": 0.2}),
        ({"type": "number"}, {"type": "number", "multipleOf": 1}),
        ({"type": "array"}, {"type": "array", "minItems": 1}),
        ({"type": "array", "maxItems": 5}, {"type": "array", "maxItems": 4}),
        ({"type": "array"}, {"type": "array", "uniqueItems": True}),
        ({"type": "string"}, {"type": "string", "not": {"const": ""}}),
    ],
)
def test_stricter_constraints_are_reported(old_field: Any, new_field: Any) -> None:
    problems = check_compatible(only(obj(a=old_field)), only(obj(a=new_field)))
    assert [(p.path, p.rule) for p in problems] == [("$.a", "constraint-narrowed")]


@pytest.mark.parametrize(
    ("old_field", "new_field"),
    [
        ({"type": "number", "exclusiveMinimum": 0}, {"type": "number", "minimum": 0}),
        ({"type": "number", "minimum": 1}, {"type": "number", "exclusiveMinimum": 0}),
        ({"type": "number", "multipleOf": 0.5}, {"type": "number", "multipleOf": 0.25}),
        ({"type": "number", "multipleOf": 1}, {"type": "number"}),
        ({"type": "string", "minLength": 3}, {"type": "string", "minLength": 1}),
        ({"type": "string", "enum": ["a", "b"]}, {"type": "string"}),
    ],
)
def test_looser_constraints_are_compatible(old_field: Any, new_field: Any) -> None:
    assert check_compatible(only(obj(a=old_field)), only(obj(a=new_field))) == []


def test_constraint_tightened_on_a_real_contract(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    new[DELAYED]["properties"]["lines"]["anyOf"][0]["items"]["maximum"] = 9999
    new[PO]["properties"]["lines"]["minItems"] = 2
    assert found(old, new) == {
        (DELAYED, "$.lines[]", "constraint-narrowed"),
        (PO, "$.lines", "constraint-narrowed"),
    }


def test_refusing_undeclared_properties_is_reported() -> None:
    open_schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    closed = {**open_schema, "additionalProperties": False}
    typed = {**open_schema, "additionalProperties": {"type": "string"}}
    assert [(p.path, p.rule) for p in check_compatible(only(open_schema), only(closed))] == [
        ("$", "additional-properties-narrowed")
    ]
    assert [(p.path, p.rule) for p in check_compatible(only(open_schema), only(typed))] == [
        ("$", "additional-properties-narrowed")
    ]
    assert check_compatible(only(closed), only(open_schema)) == []
    old_typed = {**open_schema, "additionalProperties": {"type": ["string", "integer"]}}
    assert [(p.path, p.rule) for p in check_compatible(only(old_typed), only(typed))] == [
        ("$.*", "type-narrowed")
    ]


def test_new_property_that_was_open_before_is_checked() -> None:
    open_schema = {"type": "object", "properties": {}}
    with_b = {"type": "object", "properties": {"b": {"type": "integer"}}}
    assert [(p.path, p.rule) for p in check_compatible(only(open_schema), only(with_b))] == [
        ("$.b", "type-narrowed")
    ]


def tree(leaf_max: int) -> dict[str, Any]:
    return {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": leaf_max},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/Node",
    }


def test_recursive_refs_terminate_and_are_still_checked() -> None:
    assert check_compatible(only(tree(10)), only(tree(10))) == []
    assert check_compatible(only(tree(10)), only(tree(20))) == []
    problems = check_compatible(only(tree(10)), only(tree(5)))
    assert [(p.path, p.rule) for p in problems] == [("$.name", "constraint-narrowed")]


def test_self_referencing_ref_does_not_loop() -> None:
    looping = {"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}
    assert check_compatible(only(looping), only(looping)) == []


def test_every_problem_is_reported_not_just_the_first(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    del new[ACK]
    del new[CONSUMED]["properties"]["operation"]
    new[RELEASED]["required"].append("work_center")
    new[RELEASED]["properties"]["plant"]["maxLength"] = 4
    new[PO]["properties"]["revision"] = {"type": "string"}
    new[PO]["properties"]["currency"]["enum"] = ["EUR"]
    new[PO]["additionalProperties"] = {"type": "integer"}  # old ones are strings
    del new[PO]["properties"]["approved_at"]
    new[PO]["required"].remove("approved_at")
    problems = check_compatible(old, new)
    assert {p.rule for p in problems} == set(RULES) - {"additional-properties-narrowed"}
    assert found(old, new) >= {
        (ACK, "$", "contract-removed"),
        (CONSUMED, "$.operation", "field-removed"),
        (RELEASED, "$.work_center", "field-now-required"),
        (RELEASED, "$.plant", "constraint-narrowed"),
        (PO, "$.revision", "type-narrowed"),
        (PO, "$.currency", "enum-narrowed"),
        (PO, "$.approved_at", "type-narrowed"),
    }
    assert all(isinstance(p, Incompatibility) and p.message for p in problems)
    assert problems == sorted(problems, key=lambda p: p.contract)


def test_every_rule_is_named_in_rules() -> None:
    assert len(RULES) == 7
    assert "additional-properties-narrowed" in RULES
