"""The msgspec hot path (service/fastpath.py) accepts only what pydantic's path accepts, and builds
byte-identical journal bodies; anything else it hands back to the path that lists every issue."""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BeforeValidator, StringConstraints, TypeAdapter, field_validator

from plantwire.domain.catalog import CATALOG
from plantwire.domain.quantities import CanonicalModel
from plantwire.envelope import Pending
from plantwire.errors import InvalidEvent
from plantwire.service.bodies import BATCH, STRUCTURED
from plantwire.service.fastpath import fast_path, mirrored
from plantwire.service.patterns import pattern_test, python_pattern
from plantwire.service.structs import NotMirrored, Translator
from plantwire.service.validation import _validate_listing_issues
from plantwire.simulators.scenario import plant_day

DAY = list(plant_day(orders=2))
FAST = fast_path(CATALOG)


def slow(obj: Any) -> Pending | None:
    try:
        return _validate_listing_issues(copy.deepcopy(obj), CATALOG)
    except InvalidEvent:
        return None


def same(fast: Pending, expected: Pending) -> None:
    assert fast.body == expected.body and fast.digest == expected.digest
    assert (fast.source, fast.id, fast.type, fast.partitionkey) == (
        expected.source, expected.id, expected.type, expected.partitionkey)
    assert fast.envelope == expected.envelope


def test_every_contract_but_the_edge_alarms_is_mirrored() -> None:
    assert set(mirrored(CATALOG)) == {c.type for c in CATALOG} - {"edge.alarm.raised", "edge.alarm.cleared"}


def test_a_plant_day_decodes_on_the_hot_path_into_the_same_bodies() -> None:
    read = FAST.read(BATCH, orjson.dumps(DAY), len(DAY))
    assert read is not None and all(type(p) is Pending for p in read)
    for got, obj in zip(read, DAY, strict=True):
        expected = slow(obj)
        assert expected is not None
        same(got, expected)


def test_a_single_structured_event_too() -> None:
    [got] = FAST.read(STRUCTURED, orjson.dumps(DAY[0]), 1) or [None]
    assert isinstance(got, Pending)
    expected = slow(DAY[0])
    assert expected is not None
    same(got, expected)


DEEP = b"[" + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"]"


@pytest.mark.parametrize("body", [b"", b"{", b"[1]", b"{}", b'"x"', b"\xff", DEEP, DEEP[1:-1]])
def test_bodies_it_cannot_read_go_to_the_listing_path(body: bytes) -> None:
    assert FAST.read(BATCH, body, 10) is None
    assert FAST.read(STRUCTURED, body, 10) is None


def test_an_empty_batch_is_read_as_no_events() -> None:
    assert FAST.read(BATCH, b"[]", 10) == []


def test_over_the_batch_limit_and_other_media_go_to_the_listing_path() -> None:
    assert FAST.read(BATCH, orjson.dumps(DAY[:3]), 2) is None
    assert FAST.read("application/json", orjson.dumps(DAY[0]), 1) is None


def test_one_event_it_cannot_vouch_for_is_handed_back_alone() -> None:
    odd = copy.deepcopy(DAY[1]) | {"id": "   "}  # decodes, but blank: the listing path says so
    read = FAST.read(BATCH, orjson.dumps([DAY[0], odd, DAY[2]]), 3)
    assert read is not None
    assert type(read[0]) is Pending and type(read[2]) is Pending
    assert read[1] == odd


def test_an_unknown_extension_or_type_sends_the_body_to_the_listing_path() -> None:
    assert FAST.read(BATCH, orjson.dumps([DAY[0], DAY[1] | {"vendorx": "1"}]), 2) is None
    assert FAST.read(BATCH, orjson.dumps([DAY[0] | {"type": "no.such.type"}]), 2) is None


@pytest.mark.parametrize("bad", [b"\xff", b"\xed\xa0\x80", b"\xc0\xaf"])
def test_invalid_utf8_in_a_string_goes_to_the_listing_path(bad: bytes) -> None:
    body = b'{"type":"inventory.transferred","id":"' + bad + b'"}'
    assert FAST.read(STRUCTURED, body, 1) is None
    assert FAST.read(BATCH, b"[" + body + b"]", 1) is None


@pytest.mark.parametrize("offset", ["+00:60", "+01:99", "+24:00", "-25:00", "+23:59", "-00:59"])
def test_timestamp_offsets_outside_rfc3339_are_left_to_pydantic(offset: str) -> None:
    obj = copy.deepcopy(next(e for e in DAY if e["type"] == "inventory.transferred"))
    obj["data"]["transferred_at"] = "2026-11-27T13:07:00" + offset
    [got] = FAST.read(STRUCTURED, orjson.dumps(obj), 1) or [None]
    expected = slow(obj)
    if type(got) is Pending:
        assert expected is not None
        same(got, expected)
    else:
        assert offset in ("+00:60", "+01:99", "+24:00", "-25:00")


def test_json_the_listing_path_cannot_parse_is_not_decoded_here_either() -> None:
    huge = orjson.dumps(DAY[0]).replace(b'"plant":"1000"', b'"plant":99999999999999999999999', 1)
    assert huge != orjson.dumps(DAY[0])
    assert FAST.read(STRUCTURED, huge, 1) is None


def test_the_translation_refuses_what_it_cannot_reproduce() -> None:
    class Before(CanonicalModel):
        code: Annotated[str, BeforeValidator(str.strip)]

    class Word(CanonicalModel):  # \w is not the same class in Python's re and in Rust's regex
        code: Annotated[str, StringConstraints(pattern=r"^\w+$")]

    class Star(CanonicalModel):
        code: str

        @field_validator("*")
        @classmethod
        def _any(cls, value: Any) -> Any:
            return value

    class Rewrites(CanonicalModel):
        code: str

        @field_validator("code", mode="before")
        @classmethod
        def _upper(cls, value: Any) -> Any:
            return value

    for model in (Before, Rewrites, Word, Star):
        with pytest.raises(NotMirrored):
            Translator().mirror(model)


def test_a_validator_that_changes_a_value_is_left_to_pydantic() -> None:
    class Upper(CanonicalModel):
        code: str

        @field_validator("code")
        @classmethod
        def _upper(cls, value: str) -> str:
            return value.upper()

    from plantwire.service.structs import Diverged

    mirror = Translator().mirror(Upper)
    import msgspec

    decoded = msgspec.json.decode(b'{"code": "ab"}', type=mirror.struct)
    with pytest.raises(Diverged):
        mirror.convert(decoded)


DOMAIN_PATTERNS = [r"^\S(?:.*\S)?$", r"^[A-Za-z0-9_%./-]+$", r"^[A-Za-z0-9_.:-]+$", r"^[A-Z]{3}$",
                   r"^[0-9]{9}$", r"^[0-9]{13}$"]


@pytest.mark.parametrize("pattern", DOMAIN_PATTERNS)
@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=16), st.text(alphabet="AZaz09_%./-:\n \t\x1c\u00a0\u2028", max_size=14)))
def test_a_pattern_test_accepts_only_what_pydantic_accepts(pattern: str, value: str) -> None:
    test = pattern_test(pattern)
    assert test is not None
    accepted = not eval(test, {}, {"v": value})
    assert accepted == (re.search(python_pattern(pattern), value) is not None)  # what the mirror replaced
    if accepted:  # and pydantic (Rust regex) agrees wherever the mirror accepts
        TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)]).validate_python(value)


def test_other_patterns_keep_their_regex() -> None:
    assert pattern_test(r"^[a-c]+$") is None and pattern_test(r"^x+$") is None


# -- generated and mutated events --------------------------------------------------------------

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30)),
                         timezone(timedelta(0))])


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """RFC 3339 text in the spellings senders use, with 0 to 9 fraction digits."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                               timezones=ZONES))
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    digits = draw(st.integers(0, 9))
    frac = "." + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits))) \
        if digits else ""
    offset = moment.strftime("%z")
    offset = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00"])) if offset == "+0000" else \
        f"{offset[:3]}:{offset[3:]}"
    sep = draw(st.sampled_from(["T", "T", "t", " "]))
    return base.replace("T", sep) + frac + offset


AMOUNTS = st.one_of(
    st.integers(0, 20).flatmap(lambda places: st.decimals(
        allow_nan=False, allow_infinity=False, places=places)).map(str),
    st.sampled_from(["0", "-0", "0.0", "1.50", "+5", " 5", "5.", ".5", "1e2", "1E-3", "1_0", "1e400", "NaN",
                     "Infinity", "-1", "0.0000000000000000001", "9" * 18, "9" * 19, "1" * 30 + ".5",
                     "0.000000000000000000000", "12.345678901234567890"]),
    st.integers(-10, 10**18), st.floats(allow_nan=False), st.text(max_size=4))
TEXTS = st.one_of(
    st.text(max_size=70),
    st.sampled_from(["", " ", "A B", " A", "A ", "A\n", "A\nB", "\tA", "\x1cA", "A\u00a0", "Ä-1", "x" * 64,
                     "x" * 65, "EUR", "eur", "accepted", "changed", "rejected", "EA", "KG", "M2", "%"]))
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-2, 10**7), AMOUNTS, TEXTS, timestamps(),
                   st.dates().map(date.isoformat), st.lists(st.integers(0, 30), max_size=3))


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaf_paths(v, (*path, i))] or [path]
    return [path]


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(draw(st.sampled_from(DAY)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(leaf_paths(event["data"])))
        where: Any = event["data"]
        for part in path[:-1]:
            where = where[part]
        if not path:
            break
        if draw(st.booleans()) and isinstance(where, dict):
            choice = draw(st.sampled_from(["drop", "value", "value", "value"]))
            if choice == "drop":
                where.pop(path[-1], None)
                continue
        where[path[-1]] = draw(LEAVES)
    for name, value in draw(st.dictionaries(
            st.sampled_from(["time", "subject", "partitionkey", "contractversion", "datacontenttype", "plant",
                             "correlationid", "specversion", "id"]),
            st.one_of(TEXTS, timestamps(), st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none()),
            max_size=2)).items():
        event[name] = value
    return event


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(mutated(), min_size=1, max_size=4))
def test_whatever_the_hot_path_accepts_pydantic_accepts_with_the_same_body(
        events: list[dict[str, Any]]) -> None:
    read = FAST.read(BATCH, orjson.dumps(events), 10)
    if read is None:
        return  # the whole body goes to the listing path
    for got, obj in zip(read, events, strict=True):
        if type(got) is not Pending:
            assert got == obj  # handed back untouched
            continue
        expected = slow(obj)
        assert expected is not None, f"the hot path accepted what pydantic refuses: {obj}"
        same(got, expected)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(DAY), timestamps())
def test_timestamps_in_data_are_written_as_pydantic_writes_them(event: dict[str, Any], stamp: str) -> None:
    obj = copy.deepcopy(event)
    for name in ("approved_at", "acknowledged_at", "received_at", "consumed_at", "completed_at",
                 "transferred_at", "placed_at", "released_at", "scheduled_start"):
        if name in obj["data"]:
            obj["data"][name] = stamp
    [got] = FAST.read(STRUCTURED, orjson.dumps(obj), 1) or [None]
    expected = slow(obj)
    if type(got) is Pending:
        assert expected is not None
        same(got, expected)


def test_amount_and_timestamp_edge_cases_agree() -> None:
    base = next(e for e in DAY if e["type"] == "production.component.consumed")
    values = ["0.000000000000000001", "0.0000000000000000001", "999999999999999999", "1000000000000000000",
              "1e17", "1e18", "-0", "0", "1.000000000000000000000000000001"]
    for value in values:
        obj = copy.deepcopy(base)
        obj["data"]["quantity"]["value"] = value
        [got] = FAST.read(STRUCTURED, orjson.dumps(obj), 1) or [None]
        expected = slow(obj)
        if type(got) is Pending:
            assert expected is not None, value
            same(got, expected)
    assert Decimal("1e18") >= Decimal(10) ** 18
