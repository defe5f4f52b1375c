"""Reading request bodies and validating CloudEvents: every issue with its JSON path and rule."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantwire.domain.catalog import CATALOG
from plantwire.errors import InvalidEvent, Issue, RequestRejected
from plantwire.service.bodies import BATCH, STRUCTURED, read_events
from plantwire.service.validation import _accept_plain, _validate_listing_issues, validate_event
from plantwire.simulators.scenario import plant_day

DAY = list(plant_day(orders=1))


def example(type_: str) -> dict[str, Any]:
    """A realistic event of one type, as a source would send it (a fresh copy)."""
    return copy.deepcopy(next(e for e in DAY if e["type"] == type_))


RECEIPT = "procurement.goods.received"


def issues_of(obj: Any) -> list[Issue]:
    with pytest.raises(InvalidEvent) as caught:
        validate_event(obj, CATALOG)
    return caught.value.issues


def rules_of(obj: Any) -> set[tuple[str, str]]:
    return {(i.path, i.rule) for i in issues_of(obj)}


# -- validate_event: the good case ---------------------------------------------------------


def test_a_valid_event_becomes_a_journal_ready_envelope() -> None:
    obj = example(RECEIPT)
    pending = validate_event(obj, CATALOG)
    env = pending.envelope
    assert env.identity == (obj["source"], obj["id"])
    assert env.type == RECEIPT and env.contractversion == "1"
    assert env.partitionkey == obj["data"]["po_number"]  # the contract's business key
    assert env.time == obj["time"] and env.datacontenttype == "application/json"
    assert env.extensions == {"plant": "1000"}
    assert env.data["lines"][0]["quantity"] == obj["data"]["lines"][0]["quantity"]
    assert pending.body == env.canonical_bytes()


def test_every_event_of_a_plant_day_is_valid() -> None:
    for obj in plant_day(orders=3, seed=11):
        assert validate_event(obj, CATALOG).envelope.id == obj["id"]


def test_an_explicit_partitionkey_and_allowed_extensions_are_kept() -> None:
    obj = example(RECEIPT) | {"partitionkey": "dock-4", "correlationid": "c-77", "attempt": 3,
                              "urgent": True, "datacontenttype": "application/vnd.erp+json; v=1"}
    env = validate_event(obj, CATALOG).envelope
    assert env.partitionkey == "dock-4"
    assert env.extensions == {"plant": "1000", "correlationid": "c-77", "attempt": 3,
                              "urgent": True}


def test_contractversion_defaults_to_one() -> None:
    obj = example(RECEIPT)
    del obj["contractversion"]
    assert validate_event(obj, CATALOG).envelope.contractversion == "1"


# -- validate_event: context attributes ----------------------------------------------------


@pytest.mark.parametrize("name", ["id", "source", "type"])
def test_missing_required_attribute(name: str) -> None:
    obj = example(RECEIPT)
    del obj[name]
    assert (f"$.{name}", "required") in rules_of(obj)


def test_missing_specversion() -> None:
    obj = example(RECEIPT)
    del obj["specversion"]
    assert rules_of(obj) == {("$.specversion", "required")}


@pytest.mark.parametrize("value", ["0.3", "1", 1.0, "1.0 "])
def test_wrong_specversion(value: Any) -> None:
    obj = example(RECEIPT) | {"specversion": value}
    assert rules_of(obj) == {("$.specversion", "unsupported-specversion")}


@pytest.mark.parametrize(("value", "rule"), [
    (42, "type"), ("", "non-empty"), ("   ", "non-empty"), ("x" * 257, "max-length"),
])
def test_bad_id(value: Any, rule: str) -> None:
    assert rules_of(example(RECEIPT) | {"id": value}) == {("$.id", rule)}


@pytest.mark.parametrize("value", [
    "yesterday", "2026-11-27T06:00:00", "2026-11-27", "27/11/2026 06:00+01:00", 1_800_000_000,
    "2026-11-27T06:00:00+00:60", "2026-11-27T06:00:00+24:00", "2026-11-27T06:00:00Z\n",
])
def test_bad_time(value: Any) -> None:
    assert rules_of(example(RECEIPT) | {"time": value}) == {("$.time", "rfc3339")}


@pytest.mark.parametrize("value", ["2026-11-27T06:00:00Z", "2026-11-27T06:00:00.123+01:00"])
def test_good_time(value: str) -> None:
    assert validate_event(example(RECEIPT) | {"time": value}, CATALOG).envelope.time == value


@pytest.mark.parametrize("value", ["text/xml", "application/xml", "text/plain; charset=utf-8", 7])
def test_non_json_datacontenttype(value: Any) -> None:
    assert rules_of(example(RECEIPT) | {"datacontenttype": value}) == {
        ("$.datacontenttype", "unsupported-datacontenttype")}


def test_data_base64_is_refused_without_a_missing_data_issue() -> None:
    obj = example(RECEIPT)
    del obj["data"]
    obj["data_base64"] = "eyJhIjogMX0="
    assert rules_of(obj) == {("$.data_base64", "unsupported-data-encoding")}


def test_unknown_type() -> None:
    [issue] = issues_of(example(RECEIPT) | {"type": "procurement.goods.teleported"})
    assert (issue.path, issue.rule) == ("$.type", "unknown-type")
    assert RECEIPT in issue.message  # names the known types


def test_unknown_contract_version() -> None:
    [issue] = issues_of(example(RECEIPT) | {"contractversion": "2"})
    assert (issue.path, issue.rule) == ("$.contractversion", "unknown-contract-version")
    assert "known: 1" in issue.message


def test_contractversion_must_be_a_string() -> None:
    assert rules_of(example(RECEIPT) | {"contractversion": 1}) == {("$.contractversion", "type")}


@pytest.mark.parametrize(("name", "path"), [
    ("Plant", "$['Plant']"), ("my_ext", "$['my_ext']"), ("a" * 21, f"$['{'a' * 21}']"),
    ("ext-1", "$['ext-1']"), ("plant\n", "$['plant\\n']"),
])
def test_bad_extension_names(name: str, path: str) -> None:
    assert rules_of(example(RECEIPT) | {name: "x"}) == {(path, "extension-name")}


@pytest.mark.parametrize("value", [[1], {"a": 1}, 1.5, None, "x" * 1025])
def test_bad_extension_values(value: Any) -> None:
    assert rules_of(example(RECEIPT) | {"shift": value}) == {("$.shift", "extension-value")}


def test_too_many_extensions() -> None:
    obj = example(RECEIPT) | {f"ext{n}": "v" for n in range(40)}
    assert rules_of(obj) == {("$", "too-many-extensions")}


def test_data_missing_or_not_an_object() -> None:
    obj = example(RECEIPT)
    del obj["data"]
    assert rules_of(obj) == {("$.data", "required")}
    assert rules_of(example(RECEIPT) | {"data": [1, 2]}) == {("$.data", "type")}
    assert rules_of(example(RECEIPT) | {"data": "{}"}) == {("$.data", "type")}


def test_not_an_object_at_all() -> None:
    for value in ([], "event", 3, None):
        assert rules_of(value) == {("$", "type")}


# -- validate_event: data --------------------------------------------------------------------


@pytest.mark.parametrize(("value", "rule"), [
    ("abc", "decimal_parsing"), ("-3", "greater_than"), ("0", "greater_than"),
])
def test_nested_data_error_has_its_json_path(value: str, rule: str) -> None:
    obj = example(RECEIPT)
    obj["data"]["lines"][0]["quantity"]["value"] = value
    assert rules_of(obj) == {("$.data.lines[0].quantity.value", rule)}


def test_data_errors_on_several_lines_and_fields() -> None:
    obj = example(RECEIPT)
    obj["data"]["lines"][1]["quantity"]["value"] = "abc"
    del obj["data"]["lines"][0]["item_id"]
    obj["data"]["unexpected"] = True
    del obj["data"]["receipt_id"]
    assert rules_of(obj) == {
        ("$.data.lines[1].quantity.value", "decimal_parsing"),
        ("$.data.lines[0].item_id", "missing"),
        ("$.data.unexpected", "extra_forbidden"),
        ("$.data.receipt_id", "missing"),
    }


def test_several_issues_are_reported_together() -> None:
    obj = example(RECEIPT)
    del obj["id"]
    obj |= {"specversion": "0.3", "time": "soon", "datacontenttype": "text/csv",
            "Bad": 1, "note": [1]}
    obj["data"]["lines"][0]["quantity"]["value"] = "-1"
    issues = issues_of(obj)
    assert {(i.path, i.rule) for i in issues} == {
        ("$.id", "required"),
        ("$.specversion", "unsupported-specversion"),
        ("$.time", "rfc3339"),
        ("$.datacontenttype", "unsupported-datacontenttype"),
        ("$['Bad']", "extension-name"),
        ("$.note", "extension-value"),
        ("$.data.lines[0].quantity.value", "greater_than"),
    }
    assert all(i.message for i in issues)
    with pytest.raises(InvalidEvent, match=re.escape("(and 6 more)")):
        validate_event(obj, CATALOG)


def test_unknown_type_does_not_hide_other_issues() -> None:
    obj = example(RECEIPT) | {"type": "nope", "specversion": "2.0"}
    assert rules_of(obj) == {("$.type", "unknown-type"),
                             ("$.specversion", "unsupported-specversion")}


# -- bodies ----------------------------------------------------------------------------------


def rejected(content_type: str | None, body: bytes, headers: dict[str, str] | None = None,
             max_batch: int = 100) -> RequestRejected:
    with pytest.raises(RequestRejected) as caught:
        read_events(content_type, headers or {}, body, max_batch)
    return caught.value


def test_structured_mode() -> None:
    obj = example(RECEIPT)
    body = orjson.dumps(obj)
    assert read_events(STRUCTURED, {}, body, 10) == ([obj], False)
    assert read_events("Application/CloudEvents+JSON; charset=utf-8", {}, body, 10) == (
        [obj], False)


def test_batch_mode() -> None:
    objs = [example(RECEIPT), example("production.order.released")]
    assert read_events(BATCH, {}, orjson.dumps(objs), 2) == (objs, True)


def test_invalid_utf8_reports_the_byte_offset() -> None:
    error = rejected(STRUCTURED, b'{"id": "\xc3\xbc\xff"}')
    assert (error.status, error.rule) == (400, "invalid-utf8")
    assert "offset 10" in str(error) and "0xff" in str(error)  # bytes, not characters
    assert rejected(STRUCTURED, b'{"a": "\xed\xa0\x80"}').rule == "invalid-utf8"  # surrogate


def test_invalid_json_reports_line_and_column() -> None:
    error = rejected(STRUCTURED, b'{\n  "id": "x",\n  "source": }')
    assert (error.status, error.rule) == (400, "invalid-json")
    assert "line 3 column 13" in str(error) and "byte 27" in str(error)
    assert rejected(STRUCTURED, b"").rule == "invalid-json"
    assert rejected(BATCH, b"[{}, ").rule == "invalid-json"


def test_deep_nesting_is_refused() -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    error = rejected(STRUCTURED, deep)
    assert (error.status, error.rule) == (400, "nesting-too-deep")
    objects = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    assert rejected(BATCH, objects).rule == "nesting-too-deep"


def test_batch_must_be_an_array_within_the_limit() -> None:
    error = rejected(BATCH, b'{"id": "x"}')
    assert (error.status, error.rule) == (400, "batch-not-array")
    assert read_events(BATCH, {}, b"[]", 3) == ([], True)  # CloudEvents: a batch may be empty
    error = rejected(BATCH, b"[{}, {}, {}, {}]", max_batch=3)
    assert (error.status, error.rule) == (413, "batch-too-large")
    assert read_events(BATCH, {}, b"[{}, {}, {}]", 3) == ([{}, {}, {}], True)


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/json",
                                          "application/xml", "multipart/form-data"])
def test_unsupported_media_type(content_type: str | None) -> None:
    error = rejected(content_type, b"{}")
    assert (error.status, error.rule) == (415, "unsupported-media-type")


def binary_headers(obj: dict[str, Any]) -> dict[str, str]:
    return {f"ce-{k}": str(v) for k, v in obj.items() if k not in ("data", "datacontenttype")}


def test_binary_mode_via_ce_headers() -> None:
    obj = example(RECEIPT)
    [event], batch = read_events("application/json; charset=utf-8", binary_headers(obj),
                                 orjson.dumps(obj["data"]), 10)
    assert not batch
    assert event == obj  # same attributes, data from the body, datacontenttype from the header
    assert validate_event(event, CATALOG).envelope == validate_event(obj, CATALOG).envelope


def test_binary_mode_decodes_percent_encoded_header_values() -> None:
    obj = example(RECEIPT) | {"subject": "lot A 100% ü"}
    headers = binary_headers(obj) | {"ce-subject": "lot%20A%20100%25%20%C3%BC"}
    [event], _ = read_events("application/json", headers, orjson.dumps(obj["data"]), 10)
    assert event["subject"] == "lot A 100% ü"


def test_binary_mode_needs_json_data() -> None:
    headers = binary_headers(example(RECEIPT))
    error = rejected("application/xml", b"<a/>", headers)
    assert (error.status, error.rule) == (415, "unsupported-datacontenttype")
    assert rejected("text/plain", b"{}", headers).status == 415
    # no Content-Type at all (the 1.x SDK omits it when datacontenttype is unset): JSON data
    events, _ = read_events(None, headers, b'{"a": 1}', 10)
    assert events[0]["data"] == {"a": 1} and events[0]["datacontenttype"] is None
    assert rejected("application/json", b"{oops", headers).rule == "invalid-json"


# -- events made by the official CloudEvents SDK ---------------------------------------------


def sdk_attributes(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "data"}


def test_sdk_v1_structured_and_binary_are_accepted() -> None:
    from cloudevents.v1.conversion import to_binary, to_structured
    from cloudevents.v1.http import CloudEvent

    obj = example(RECEIPT)
    expected = validate_event(obj, CATALOG).envelope
    event = CloudEvent(sdk_attributes(obj), obj["data"])
    for headers, body in (to_structured(event), to_binary(event)):
        [parsed], batch = read_events(headers.get("content-type"), headers, body, 10)
        assert not batch
        assert validate_event(parsed, CATALOG).envelope == expected


def test_sdk_v1_default_attributes_are_accepted() -> None:
    from cloudevents.v1.conversion import to_binary, to_structured
    from cloudevents.v1.http import CloudEvent

    obj = example(RECEIPT)
    event = CloudEvent({"source": obj["source"], "type": RECEIPT,
                        "datacontenttype": "application/json"}, obj["data"])  # id, time: SDK's
    for headers, body in (to_structured(event), to_binary(event)):
        [parsed], _ = read_events(headers.get("content-type"), headers, body, 10)
        env = validate_event(parsed, CATALOG).envelope
        assert env.id == event["id"] and env.time is not None


def test_sdk_core_structured_and_binary_are_accepted() -> None:
    from cloudevents.core.bindings.http import to_binary, to_structured
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    obj = example(RECEIPT)
    at = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    attributes = sdk_attributes(obj) | {"time": at, "subject": "lot A 100% ü"}
    event = CloudEvent(attributes=attributes, data=obj["data"])
    expected = validate_event(obj | {"subject": "lot A 100% ü"}, CATALOG).envelope
    for message in (to_structured(event, JSONFormat()), to_binary(event, JSONFormat())):
        [parsed], _ = read_events(message.headers.get("content-type"), message.headers,
                                  message.body, 10)
        env = validate_event(parsed, CATALOG).envelope
        assert env.time is not None and datetime.fromisoformat(env.time) == at
        assert env.subject == "lot A 100% ü"
        assert env.identity == expected.identity and env.data == expected.data
        assert env.extensions == expected.extensions and env.partitionkey == expected.partitionkey


# -- the hot path agrees with the listing path ----------------------------------------------


ODD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(
    ["", " ", "1.0", "0.3", "x" * 300, "x" * 1100, "2026-11-27T06:07:00+00:00", "2026-11-27T06:07:00",
     "2026-13-45T06:07:00Z", "application/json", "text/xml", "1", "2", "RM01", "-5", "1e40"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
PATHS = st.sampled_from(["specversion", "id", "source", "type", "time", "subject", "datacontenttype",
                         "dataschema", "partitionkey", "contractversion", "data", "data_base64", "plant",
                         "Bad-Name", "x" * 25, "data.order_id", "data.quantity", "data.quantity.value",
                         "data.lines", "data.plant", "data.extra"])


def mutate(obj: dict[str, Any], path: str, value: Any, drop: bool) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    target, *rest = path.split(".")
    where: Any = out
    for part in [target, *rest][:-1]:
        where = where.get(part) if isinstance(where, dict) else None
    last = [target, *rest][-1]
    if isinstance(where, dict):
        if drop:
            where.pop(last, None)
        else:
            where[last] = value
    return out


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(DAY), st.lists(st.tuples(PATHS, ODD_VALUES, st.booleans()), max_size=3))
def test_the_hot_path_accepts_only_what_the_listing_path_accepts_and_builds_the_same(
        event: dict[str, Any], edits: list[tuple[str, Any, bool]]) -> None:
    obj = event
    for path, value, drop in edits:
        obj = mutate(obj, path, value, drop)
    fast = _accept_plain(copy.deepcopy(obj), CATALOG)
    try:
        slow = _validate_listing_issues(copy.deepcopy(obj), CATALOG)
    except InvalidEvent:
        assert fast is None
        return
    if fast is not None:
        assert (fast.envelope, fast.body, fast.digest) == (slow.envelope, slow.body, slow.digest)


def test_every_event_of_a_plant_day_takes_the_hot_path() -> None:
    assert all(_accept_plain(e, CATALOG) is not None for e in plant_day(orders=3))


@pytest.mark.parametrize("name", ["id", "source", "type", "subject", "dataschema", "partitionkey"])
@pytest.mark.parametrize("value", ["", "  ", 7, "LONG"])
def test_the_hot_path_leaves_every_bad_attribute_to_the_listing_path(name: str, value: Any) -> None:
    limit = {"id": 256, "source": 512, "type": 128, "subject": 512, "partitionkey": 256}.get(name, 1024)
    obj = example(RECEIPT) | {name: "x" * (limit + 1) if value == "LONG" else value}
    assert _accept_plain(obj, CATALOG) is None
    assert issues_of(obj)
