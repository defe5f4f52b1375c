"""The one numeric policy: how an amount is read from text, JSON or a Decimal, and its limits.

Every amount the hub takes in (HTTP in all three modes, the edge, adapters, CLI, operator routes)
goes through here. The grammar is the contract's: an optional sign, digits with an optional
point, an optional exponent (`12`, `-0.5`, `.5`, `1.25e3`). The exponent is bounded by its
characters before any Decimal is built, and the limits are then computed exactly from the
digits with integer arithmetic (no context operation, no rounding), so no Decimal operation
anywhere downstream sees an unbounded exponent (Decimal('1e999999999').normalize() overflows;
Fraction(Decimal('1e-999999999')) never ends).

Limits: at most MAX_INTEGER_DIGITS digits before the point and MAX_SCALE decimal places after it
(trailing zeros after the point do not count: `1.50` has one place), a Decimal exponent within
±MAX_EXPONENT, and at most MAX_AMOUNT_TEXT characters of text.

JSON numbers: an integer is read exactly; a float (the JSON parser has already made it a binary
float) is read from its repr, which is the shortest text that gives that float back, and only when
that text has at most FLOAT_SAFE_DIGITS significant digits: beyond that the sender's number may
already have been rounded on the way in, so it is refused rather than stored as a guess. Strings
keep amounts exact and are what senders should use. Booleans are refused.

Pure: no I/O.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = [
    "FLOAT_SAFE_DIGITS",
    "MAX_AMOUNT_TEXT",
    "MAX_EXPONENT",
    "MAX_EXPONENT_DIGITS",
    "MAX_INTEGER_DIGITS",
    "MAX_SCALE",
    "AmountError",
    "amount_from_json",
    "check_amount",
    "parse_amount",
]

MAX_INTEGER_DIGITS = 18
"""Digits allowed before the decimal point of an amount."""

MAX_SCALE = 18
"""Decimal places allowed in an amount; inexact conversion results are rounded to this."""

MAX_EXPONENT_DIGITS = 4
"""Digits allowed in a written exponent (after leading zeros): `1e9999` is read, `1e10000` is not."""

MAX_EXPONENT = 10**MAX_EXPONENT_DIGITS - 1
"""Bound on a Decimal's own exponent (as_tuple), so that zeros such as 0E+9999 stay bounded too."""

MAX_AMOUNT_TEXT = 100
"""Characters allowed in an amount's text (18 + 18 digits, sign, point and exponent fit many times)."""

FLOAT_SAFE_DIGITS = 15
"""Significant digits a binary float carries faithfully (DBL_DIG)."""

_INTEGER_LIMIT = 10**MAX_INTEGER_DIGITS
_DIGITS = "0123456789"
_NUMBER_CHARS = "0123456789+-.Ee"
_WHOLE, _EXPONENT = "decimal_whole_digits", "decimal_exponent"


class AmountError(ValueError):
    """An amount breaks the numeric policy; the message says what is wrong, the caller says where.

    `rule` names the limit for a machine (as pydantic's error types do): decimal_parsing,
    decimal_exponent, decimal_whole_digits, decimal_max_places, finite_number, float_digits."""

    def __init__(self, message: str, rule: str = "decimal_parsing") -> None:
        super().__init__(message)
        self.rule = rule


def parse_amount(text: str) -> Decimal:
    """The exact Decimal of an amount's text in the contract's grammar; raises AmountError."""
    if not text.strip(_DIGITS):  # the usual case first: plain digits, no exponent, no point
        if not text:
            raise AmountError("not a decimal number (empty)")
        if len(text) > MAX_AMOUNT_TEXT:
            raise AmountError(f"amount is longer than {MAX_AMOUNT_TEXT} characters")
        return check_amount(Decimal(text))
    if len(text) > MAX_AMOUNT_TEXT:
        raise AmountError(f"amount is longer than {MAX_AMOUNT_TEXT} characters")
    if text.strip(_NUMBER_CHARS) or not _well_formed(text):
        raise AmountError(f"not a decimal number: {text[:40]!r}")
    return check_amount(Decimal(text))


def _well_formed(text: str) -> bool:
    """Whether text is [+-]?(digits[.digits?] | .digits)([eE][+-]?digits)? with a short exponent."""
    body = text[1:] if text[0] in "+-" else text
    mark = max(body.find("e"), body.find("E"))
    if mark >= 0:
        exponent = body[mark + 1 :]
        body = body[:mark]
        if exponent[:1] in ("+", "-"):
            exponent = exponent[1:]
        if not exponent or exponent.strip(_DIGITS):
            return False
        if len(exponent.lstrip("0")) > MAX_EXPONENT_DIGITS:
            raise AmountError(f"exponent out of range (at most {MAX_EXPONENT_DIGITS} digits)", _EXPONENT)
    whole, point, fraction = body.partition(".")
    if (whole and whole.strip(_DIGITS)) or (fraction and fraction.strip(_DIGITS)):
        return False
    return bool(whole or (point and fraction))


def check_amount(value: Decimal) -> Decimal:
    """`value` itself when it is finite and within the limits; raises AmountError.

    Only as_tuple() and integer arithmetic: a Decimal from elsewhere may carry any exponent, and a
    context operation on it (normalize, quantize, comparison with rounding) may overflow or hang."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise AmountError("amount must be a finite number", "finite_number")
    if not -MAX_EXPONENT <= exponent <= MAX_EXPONENT:
        raise AmountError(f"exponent out of range (at most {MAX_EXPONENT} either way)", _EXPONENT)
    if exponent >= 0:
        if digits != (0,) and len(digits) + exponent > MAX_INTEGER_DIGITS:
            raise AmountError(f"amount has more than {MAX_INTEGER_DIGITS} integer digits", _WHOLE)
        return value
    size = len(digits)
    if size + exponent > MAX_INTEGER_DIGITS:
        raise AmountError(f"amount has more than {MAX_INTEGER_DIGITS} integer digits", _WHOLE)
    if -exponent > MAX_SCALE:
        # places beyond MAX_SCALE may only be trailing zeros (1.50 has one place, not two)
        kept = len(bytes(digits).rstrip(b"\0"))
        if kept and -exponent - (size - kept) > MAX_SCALE:
            raise AmountError(f"amount has more than {MAX_SCALE} decimal places", "decimal_max_places")
    return value


def amount_from_json(value: object) -> Decimal:
    """An amount as JSON gave it: a string by parse_amount, an integer exactly, a float by its repr
    within FLOAT_SAFE_DIGITS significant digits; booleans and anything else refused."""
    if type(value) is str:
        return parse_amount(value)
    if isinstance(value, bool):
        raise AmountError("a boolean is not an amount")
    if isinstance(value, int):
        if not -_INTEGER_LIMIT < value < _INTEGER_LIMIT:  # compared before any text or Decimal is made
            raise AmountError(f"amount has more than {MAX_INTEGER_DIGITS} integer digits", _WHOLE)
        return Decimal(value)
    if isinstance(value, float):
        return _from_float(value)
    if isinstance(value, Decimal):
        return check_amount(value)
    kind = {type(None): "null", list: "an array", dict: "an object"}.get(type(value), type(value).__name__)
    raise AmountError(f"not a decimal number (got {kind})")


def _from_float(value: float) -> Decimal:
    """The float as it was written (its repr), refused beyond FLOAT_SAFE_DIGITS significant digits."""
    text = repr(value)
    if text in ("inf", "-inf", "nan"):
        raise AmountError("amount must be a finite number", "finite_number")
    amount = parse_amount(text)  # the repr of a finite float is always in the grammar
    significant = len(bytes(amount.as_tuple().digits).rstrip(b"\0"))
    if significant > FLOAT_SAFE_DIGITS:
        raise AmountError(f"number {text} has more than {FLOAT_SAFE_DIGITS} significant digits; "
                          "send it as a JSON string to keep it exact", "float_digits")
    return amount
