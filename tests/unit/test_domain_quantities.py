"""Quantities stay exact decimals, refuse what is not a finite amount, and convert exactly."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from plantwire.domain.master import Bom, Supplier
from plantwire.domain.quantities import (
    DomainError,
    NonNegativeQuantity,
    PositiveQuantity,
    Quantity,
    UnknownConversion,
    UomConversion,
    convert,
)

CONVERSIONS = [
    UomConversion(from_uom="KG", to_uom="G", factor=Decimal(1000)),
    UomConversion(from_uom="BOX", to_uom="EA", factor=Decimal(10)),
    UomConversion(from_uom="BOX", to_uom="EA", factor=Decimal(12), item_id="RM-HOUSING"),
    UomConversion(from_uom="PAL", to_uom="BOX", factor=Decimal(40)),
    UomConversion(from_uom="DZ", to_uom="EA", factor=Decimal(12)),
]


def loc_of(model: type[Quantity], data: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [error["loc"] for error in caught.value.errors()]


@pytest.mark.parametrize("value", ["abc", "NaN", "-Infinity", "inf", float("nan"), float("inf"),
                                   True, None, "", "1e40", "1e-30"])
def test_quantity_refuses_what_is_not_a_finite_amount(value: Any) -> None:
    assert loc_of(Quantity, {"value": value, "uom": "EA"}) == [("value",)]


def test_quantity_refuses_nan_sent_as_json() -> None:
    with pytest.raises(ValidationError):
        Quantity.model_validate_json('{"value": NaN, "uom": "EA"}')


@pytest.mark.parametrize("uom", ["", "KILOGRAMS_PER_HOUR", "K G", "€"])
def test_quantity_refuses_a_bad_unit_code(uom: str) -> None:
    assert loc_of(Quantity, {"value": "1", "uom": uom}) == [("uom",)]


def test_quantity_may_be_negative_but_constrained_ones_may_not() -> None:
    assert Quantity(value=Decimal("-2.5"), uom="EA").value == Decimal("-2.5")
    assert loc_of(NonNegativeQuantity, {"value": "-0.001", "uom": "KG"}) == [("value",)]
    assert NonNegativeQuantity.model_validate({"value": "0", "uom": "KG"}).value == 0
    assert loc_of(PositiveQuantity, {"value": 0, "uom": "KG"}) == [("value",)]


def test_json_numbers_and_strings_both_become_exact_decimals() -> None:
    from_number = Quantity.model_validate_json('{"value": 0.1, "uom": "KG"}')
    from_string = Quantity.model_validate_json('{"value": "0.1", "uom": "KG"}')
    assert from_number.value == from_string.value == Decimal("0.1")
    assert Quantity.model_validate({"value": 1.1, "uom": "KG"}).value == Decimal("1.1")
    assert json.loads(from_number.model_dump_json()) == {"value": "0.1", "uom": "KG"}


def test_a_float_too_precise_to_trust_must_be_sent_as_a_string() -> None:
    with pytest.raises(ValidationError, match="JSON string"):
        Quantity.model_validate_json('{"value": 0.30000000000000004, "uom": "KG"}')
    exact = Quantity.model_validate_json('{"value": "0.30000000000000004", "uom": "KG"}')
    assert exact.value == Decimal("0.30000000000000004")


amounts = st.one_of(
    st.builds(
        lambda digits, scale: Decimal(digits).scaleb(-scale),
        st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1),
        st.integers(min_value=0, max_value=18),
    ),
    # exponent forms such as 1.20E+5 must come back with the same digits and exponent
    st.builds(
        lambda digits, scale: Decimal(digits).scaleb(scale),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.integers(min_value=1, max_value=5),
    ),
    st.decimals(allow_nan=False, allow_infinity=False, places=6,
                min_value=Decimal("-1e11"), max_value=Decimal("1e11")),
)


@given(amounts, st.sampled_from(["EA", "KG", "M2", "%", "L/H"]))
def test_json_round_trip_preserves_the_exact_decimal(value: Decimal, uom: str) -> None:
    quantity = Quantity(value=value, uom=uom)
    again = Quantity.model_validate_json(quantity.model_dump_json())
    assert again.value.as_tuple() == value.as_tuple()
    assert Quantity.model_validate(quantity.model_dump(mode="json")).value.as_tuple() == (
        value.as_tuple()
    )


def test_item_specific_conversion_wins_over_the_global_one() -> None:
    boxes = Quantity(value=Decimal(1), uom="BOX")
    assert convert(boxes, "EA", CONVERSIONS, item_id="RM-HOUSING").value == 12
    assert convert(boxes, "EA", CONVERSIONS, item_id="OTHER").value == 10
    assert convert(boxes, "EA", CONVERSIONS).value == 10


def test_metric_conversion_is_exact() -> None:
    grams = convert(Quantity(value=Decimal("0.1"), uom="KG"), "G", CONVERSIONS)
    assert grams == Quantity(value=Decimal("100.0"), uom="G")
    assert grams.value == Decimal(100)
    small = convert(Quantity(value=Decimal("0.000001"), uom="KG"), "G", CONVERSIONS)
    assert small.value == Decimal("0.001")


def test_inverse_of_a_declared_conversion_is_used() -> None:
    assert convert(Quantity(value=Decimal(250), uom="G"), "KG", CONVERSIONS).value == Decimal(
        "0.25"
    )
    each = Quantity(value=Decimal(24), uom="EA")
    assert convert(each, "BOX", CONVERSIONS, item_id="RM-HOUSING").value == 2


def test_inexact_inverse_is_rounded_to_eighteen_places() -> None:
    each = Quantity(value=Decimal(5), uom="EA")
    assert convert(each, "BOX", CONVERSIONS, item_id="RM-HOUSING").value == Decimal(
        "0.416666666666666667"
    )


def test_conversions_chain_through_units() -> None:
    pallet = Quantity(value=Decimal("1.5"), uom="PAL")
    assert convert(pallet, "EA", CONVERSIONS, item_id="RM-HOUSING").value == 720
    assert convert(pallet, "DZ", CONVERSIONS).value == 50


def test_same_unit_converts_to_itself() -> None:
    assert convert(Quantity(value=Decimal(3), uom="EA"), "EA", []).value == 3


def test_unknown_conversion_is_a_domain_error() -> None:
    with pytest.raises(UnknownConversion, match="'KG' to 'EA'") as caught:
        convert(Quantity(value=Decimal(1), uom="KG"), "EA", CONVERSIONS, item_id="RM-HOUSING")
    assert isinstance(caught.value, DomainError)
    assert isinstance(caught.value, ValueError)


def test_another_items_conversion_is_not_used() -> None:
    only_for_housing = [UomConversion(from_uom="BOX", to_uom="EA", factor=Decimal(12),
                                      item_id="RM-HOUSING")]
    with pytest.raises(UnknownConversion):
        convert(Quantity(value=Decimal(1), uom="BOX"), "EA", only_for_housing, item_id="X")


def test_conversion_factor_must_be_positive() -> None:
    with pytest.raises(ValidationError) as caught:
        UomConversion.model_validate({"from_uom": "KG", "to_uom": "G", "factor": "0"})
    assert [e["loc"] for e in caught.value.errors()] == [("factor",)]


def test_bom_lines_are_unique_and_not_the_parent() -> None:
    line = {"line": 10, "item_id": "RM-HOUSING", "quantity": {"value": "1", "uom": "EA"}}
    bom = {"bom_id": "B1", "item_id": "FG-PUMP-200",
           "base_quantity": {"value": "1", "uom": "EA"}, "lines": [line]}
    assert Bom.model_validate(bom).lines[0].scrap_percent is None
    with pytest.raises(ValidationError, match="unique"):
        Bom.model_validate({**bom, "lines": [line, line]})
    with pytest.raises(ValidationError, match="itself"):
        Bom.model_validate({**bom, "lines": [{**line, "item_id": "FG-PUMP-200"}]})
    with pytest.raises(ValidationError) as caught:
        Bom.model_validate({**bom, "lines": [{**line, "scrap_percent": "100"}]})
    assert [e["loc"] for e in caught.value.errors()] == [("lines", 0, "scrap_percent")]


def test_supplier_edi_ids_have_their_shapes() -> None:
    assert Supplier(supplier_id="V-1", name="Acme", duns="123456789").duns == "123456789"
    with pytest.raises(ValidationError):
        Supplier.model_validate({"supplier_id": "V-1", "name": "Acme", "gln": "12"})
