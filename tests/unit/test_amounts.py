"""The numeric policy (domain/amounts.py) against an oracle written from the grammar alone."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantwire.domain.amounts import (
    MAX_AMOUNT_TEXT,
    MAX_EXPONENT,
    MAX_EXPONENT_DIGITS,
    MAX_INTEGER_DIGITS,
    MAX_SCALE,
    AmountError,
    amount_from_json,
    check_amount,
    parse_amount,
)

GRAMMAR = re.compile(r"([+-]?)([0-9]*)(?:(\.)([0-9]*))?(?:[eE]([+-]?)([0-9]+))?\Z")


def oracle(text: str) -> Fraction | None:
    """The exact value of `text` when the policy must accept it, else None (integers only)."""
    found = GRAMMAR.match(text)
    if found is None or len(text) > MAX_AMOUNT_TEXT:
        return None
    sign, whole, _point, fraction, exp_sign, exp_digits = found.groups()
    fraction = fraction or ""
    if not whole and not fraction:
        return None
    if exp_digits is not None and len(exp_digits.lstrip("0")) > MAX_EXPONENT_DIGITS:
        return None
    written = int(exp_digits or "0") * (-1 if exp_sign == "-" else 1)
    if abs(written - len(fraction)) > MAX_EXPONENT:
        return None
    value = Fraction(int(whole + fraction or "0")) * Fraction(10) ** (written - len(fraction))
    if sign == "-":
        value = -value
    if abs(value) >= 10**MAX_INTEGER_DIGITS or (value * 10**MAX_SCALE).denominator != 1:
        return None
    return value


digits = st.text("0123456789", max_size=24)
grammar_texts = st.builds(
    lambda sign, whole, point, fraction, exp: sign + whole + point + fraction + exp,
    st.sampled_from(["", "+", "-"]),
    digits,
    st.sampled_from(["", "."]),
    digits,
    st.one_of(st.just(""), st.builds(lambda m, s, d: m + s + d, st.sampled_from("eE"),
                                     st.sampled_from(["", "+", "-"]), st.text("0123456789", max_size=7))),
)
hostile_texts = st.one_of(
    st.lists(st.sampled_from([*"+-.0123456789eE _\t\n١٢\x00", "Infinity", "NaN", "e99999"]),
             max_size=20).map("".join),
    st.text(max_size=8),
)


@given(st.one_of(grammar_texts, hostile_texts))
def test_parse_amount_accepts_exactly_the_grammar_within_bounds(text: str) -> None:
    expected = oracle(text)
    if expected is None:
        with pytest.raises(AmountError):
            parse_amount(text)
        return
    value = parse_amount(text)
    assert Fraction(value) == expected
    assert check_amount(value) is value


@given(st.integers(0, 1), st.lists(st.integers(0, 9), min_size=1, max_size=40),
       st.integers(-(10**9), 10**9))
def test_check_amount_bounds_any_decimal_without_context_arithmetic(
        sign: int, coefficient: list[int], exponent: int) -> None:
    value = Decimal((sign, tuple(coefficient), exponent))
    try:
        assert check_amount(value) is value
    except AmountError:
        accepted = False
    else:
        accepted = True
    # the same judgement as the text of the same number (its exponent written out exactly)
    text = ("-" if sign else "") + "".join(map(str, coefficient)) + f"e{exponent}"
    within_text = len(str(abs(exponent)).lstrip("0")) <= MAX_EXPONENT_DIGITS
    if within_text:
        assert accepted == (oracle(text) is not None)
    else:
        assert not accepted


@pytest.mark.parametrize(("text", "message"), [
    ("1e999999999", "exponent out of range"),
    ("1e-999999999", "exponent out of range"),
    ("1e-19", "more than 18 decimal places"),
    ("1e18", "more than 18 integer digits"),
    ("12,5", "not a decimal number"),
    ("", "not a decimal number"),
    ("1" * (MAX_AMOUNT_TEXT + 1), "longer than"),
])
def test_refusals_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(AmountError, match=message):
        parse_amount(text)


def test_trailing_zeros_after_the_point_do_not_count_against_the_scale() -> None:
    assert parse_amount("1." + "0" * 40) == 1
    assert str(parse_amount("2.50")) == "2.50"  # the value is kept as written


@pytest.mark.parametrize(("value", "expected"), [
    ("12.5", Decimal("12.5")), (7, Decimal(7)), (10**18 - 1, Decimal(10**18 - 1)), (0.1, Decimal("0.1")),
    (1.5e-5, Decimal("1.5E-5")),
])
def test_amount_from_json_reads_exactly(value: object, expected: Decimal) -> None:
    got = amount_from_json(value)
    assert got == expected and str(got) == str(expected)


@pytest.mark.parametrize(("value", "message"), [
    (True, "boolean"), (10**18, "integer digits"), (-(10**40), "integer digits"),
    (0.1 + 0.2, "significant digits"), (float("inf"), "finite"), (float("nan"), "finite"),
    (1e300, "integer digits"), (None, "null"), ([1], "array"), (Decimal("1E+999999999"), "exponent"),
])
def test_amount_from_json_refuses(value: object, message: str) -> None:
    with pytest.raises(AmountError, match=message):
        amount_from_json(value)
