"""Every HTTP route fuzzed through real servers on loopback: a `plantwire serve` hub and a `plantwire edge`
agent forwarding to it. The routes come from the hub's own OpenAPI document, plus POST /v1/events in
structured, batch and binary mode (not in the document) and the edge agent's API. No answer may be a
5xx, and every answer must come within 1 s (issue #13 item 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from edge.procs import Edge, Hub
from fuzz_harness import FUZZ, answered
from fuzz_mutations import GIANT, HOSTILE_VALUES, MILLION, mutated, mutated_json
from hypothesis import given
from hypothesis import strategies as st

from plantwire.simulators.scenario import plant_day

STRUCTURED, BATCH = "application/cloudevents+json", "application/cloudevents-batch+json"
EVENTS = list(plant_day("1000", orders=4, seed=3))
TIMEOUT = 10.0

@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A hub and an edge agent (real processes), the hub's OpenAPI document; both killed after."""
    root = tmp_path_factory.mktemp("routes")
    hub = Hub(root)
    edge = Edge(root, hub.url, hub.key_file)
    try:
        hub.start()
        edge.start()
        auth = {"authorization": f"Bearer {hub.token}"}
        with httpx.Client(base_url=hub.url, headers=auth, timeout=TIMEOUT) as client, \
                httpx.Client(base_url=edge.url, timeout=TIMEOUT) as edge_client:
            doc = client.get("/openapi.json").json()
            yield Servers({"hub": client, "edge": edge_client, "doc": doc})
    finally:
        edge.kill()
        hub.kill()


class Servers(dict[str, Any]):
    """The clients and the OpenAPI document (short repr: hypothesis prints it with every failure)."""

    def __repr__(self) -> str:
        return "<hub and edge servers>"


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every route in an OpenAPI document."""
    return [(method.upper(), path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


TEXTS = st.one_of(st.sampled_from([*GIANT, "1", "0", "-1", "9" * 30, "%00", "../..", "a" * 10_000, "ö",
                                   "\x00"]), st.text(max_size=60))
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4), max_leaves=12)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return dict(doc["components"]["schemas"][ref.rsplit("/", 1)[1]])
    return schema


def body_of(doc: dict[str, Any], op: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Bodies for an operation: its schema's members with hostile or plausible values, or anything."""
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    names: list[str] = []
    if content:
        names = list(_resolve(doc, content.get("schema", {})).get("properties", {}))
    value = st.one_of(HOSTILE_VALUES, TEXTS, JSONISH)
    shaped = st.fixed_dictionaries({}, optional={n: value for n in [*names, "unknown_field"]})
    return st.one_of(shaped, shaped, JSONISH, HOSTILE_VALUES)


def _encode(body: Any) -> bytes:
    try:
        return json.dumps(body).encode()
    except (RecursionError, ValueError):
        return b"[" * 100_000


RAW = st.sampled_from([b"", b"{", b"\xff\xfe\x00", b'{"a": 1E999999999}', b'{"a":1,"a":2}', b"[" * 100_000,
                       b"x" * MILLION, b"null", b"[]"])


@st.composite
def requests(draw: st.DrawFn, doc: dict[str, Any]) -> tuple[str, str, dict[str, Any], bytes, dict[str, str]]:
    """(method, url, query, body, headers) for a route of the document, with generated parameters."""
    method, path, op = draw(st.sampled_from(operations(doc)))
    query: dict[str, Any] = {}
    for param in op.get("parameters", []):
        text = draw(TEXTS)
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", quote(text, safe="") or "x")
        elif param["in"] == "query" and draw(st.booleans()):
            query[param["name"]] = text
    if draw(st.integers(0, 5)) == 0:
        query[draw(st.text(min_size=1, max_size=10))] = draw(TEXTS)
    body = b""
    if method in ("POST", "PUT", "DELETE"):
        body = draw(st.one_of(body_of(doc, op).map(_encode), RAW))
    kind = draw(st.sampled_from(["application/json", "application/json", "text/csv", "text/plain", ""]))
    return method, path, query, body, {"content-type": kind} if kind else {}


def test_openapi_document_lists_the_routes(servers: dict[str, Any]) -> None:
    routes = {(method, path) for method, path, _ in operations(servers["doc"])}
    assert len(routes) > 20 and ("POST", "/v1/xref/import") in routes and ("GET", "/v1/status") in routes


@FUZZ
@given(data=st.data())
def test_every_openapi_route(servers: Servers, data: st.DataObject) -> None:
    method, url, query, body, headers = data.draw(requests(servers["doc"]))
    client: httpx.Client = servers["hub"]
    answered("hub-routes", lambda: client.request(method, url, params=query, content=body, headers=headers),
             f"{method} {url} query={str(query)[:200]} body={body[:200]!r}")


CSV = [b"system,kind,system_id,golden_id\nmes,item,P1,FG-1\n", b"system_id,golden_id\nP1,A\nP2,B\n"]


@FUZZ
@given(mutated(CSV, separators=b"\n,"), st.sampled_from([{}, {"system": "mes", "kind": "item"}]))
def test_xref_import(servers: dict[str, Any], body: bytes, query: dict[str, str]) -> None:
    client: httpx.Client = servers["hub"]
    answered("xref-import", lambda: client.post("/v1/xref/import", params=query, content=body,
                                                headers={"content-type": "text/csv"}),
             f"POST /v1/xref/import {query} body={body[:200]!r}")


def _field(value: Any) -> bytes:
    """A header value as a sender could put it on the wire (HTTP forbids control characters)."""
    if isinstance(value, str):
        text = value
    else:
        text = repr(value) if isinstance(value, float) else _encode(value).decode()
    # and a field value has no leading or trailing whitespace (h11 refuses to send one that has)
    return bytes(c for c in text.encode("utf-8", "replace")[:8000] if c >= 0x20 and c != 0x7F).strip(b" \t")


def _binary(event: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    headers: dict[str, Any] = {}
    for k, v in event.items():
        name = "".join(c for c in k if c.isascii() and (c.isalnum() or c in "-_."))
        if k not in ("data", "datacontenttype") and name:
            headers[f"ce-{name}"[:200]] = _field(v)
    headers["content-type"] = _field(event.get("datacontenttype") or "application/json")[:200]
    return headers, _encode(event.get("data"))


@st.composite
def ingest_requests(draw: st.DrawFn) -> tuple[str, dict[str, str], bytes]:
    """A POST /v1/events in one of the three modes, from mutated valid events."""
    mode = draw(st.sampled_from(["structured", "batch", "binary", "raw"]))
    if mode == "structured":
        return mode, {"content-type": STRUCTURED}, _encode(draw(mutated_json(EVENTS)))
    if mode == "batch":
        batch = draw(st.lists(st.one_of(mutated_json(EVENTS), st.sampled_from(EVENTS)), max_size=5))
        return mode, {"content-type": BATCH}, _encode(batch)
    if mode == "binary":
        event = draw(mutated_json(EVENTS))
        if isinstance(event, dict):
            return (mode, *_binary(event))
    seeds = [_encode(e) for e in EVENTS[:3]]
    return "raw", {"content-type": draw(st.sampled_from([STRUCTURED, BATCH, "application/json"]))}, \
        draw(mutated(seeds, separators=b",:"))


def _ingest(client: httpx.Client, target: str, request: tuple[str, dict[str, str], bytes]) -> None:
    mode, headers, body = request
    answered(target, lambda: client.post("/v1/events", content=body, headers=headers),
             f"POST /v1/events ({mode}) headers={str(headers)[:300]} body={body[:300]!r}")


@FUZZ
@given(ingest_requests())
def test_hub_ingest(servers: dict[str, Any], request: tuple[str, dict[str, str], bytes]) -> None:
    _ingest(servers["hub"], "hub-events", request)


@FUZZ
@given(ingest_requests())
def test_edge_ingest(servers: dict[str, Any], request: tuple[str, dict[str, str], bytes]) -> None:
    _ingest(servers["edge"], "edge-events", request)


@FUZZ
@given(st.sampled_from(["/v1/outbox/lookup", "/v1/outbox/{}", "/v1/status", "/metrics", "/healthz"]),
       TEXTS, TEXTS)
def test_edge_routes(servers: dict[str, Any], path: str, first: str, second: str) -> None:
    url = path.format(quote(first, safe="") or "1")
    client: httpx.Client = servers["edge"]
    answered("edge-routes", lambda: client.get(url, params={"source": first, "id": second}),
             f"GET {url} source={first[:100]!r} id={second[:100]!r}")


def test_servers_still_answer(servers: dict[str, Any]) -> None:
    """After the fuzzing both are healthy and a valid event is still accepted."""
    event = {**EVENTS[0], "id": "after-fuzz-1"}
    hub: httpx.Client = servers["hub"]
    assert hub.get("/healthz").status_code == 200
    assert hub.post("/v1/events", content=json.dumps(event), headers={"content-type": STRUCTURED}
                    ).status_code in (200, 201, 202)
    assert servers["edge"].get("/healthz").status_code == 200


def test_unreadable_xref_files_are_a_422_naming_the_line(servers: dict[str, Any]) -> None:
    """Regression (issue #13): a CSV the csv module cannot read, or an unclosed quote, was a 500."""
    hub: httpx.Client = servers["hub"]
    for body, line in ((b"system,kind,system_id,golden_id\nmes,item,P1,\"FG-1\"x\n", "line 2"),
                       (b"system,kind,system_id,golden_id\nmes,item,\"P1,FG-1\nmes,item,P2,FG-2\n", "line 2"),
                       (b"system,kind,system_id,golden_id\nmes,item,P3," + b"9" * 200_000 + b"\n", "line 2")):
        answer = hub.post("/v1/xref/import", content=body, headers={"content-type": "text/csv"})
        assert answer.status_code == 422, answer.text[:300]
        assert answer.json()["error"]["path"] == line, answer.text[:300]
    # nothing of a refused file was imported
    assert not [x for x in hub.get("/v1/xref", params={"system": "mes"}).json()["xrefs"]
                if x["system_id"] in ("P1", "P2") and x.get("golden") in ("FG-1", "FG-2")]


DEEP_EVENT = b'{"specversion": ' + b"[" * 1000 + b"]" * 1000 + b"}"


def test_hub_json_nested_under_the_limit_is_not_a_500(servers: Servers) -> None:
    answer = servers["hub"].post("/v1/events", content=DEEP_EVENT, headers={"content-type": STRUCTURED})
    assert answer.status_code < 500, answer.text[:300]


def test_edge_json_nested_under_the_limit_is_not_a_500(servers: Servers) -> None:
    answer = servers["edge"].post("/v1/events", content=DEEP_EVENT, headers={"content-type": STRUCTURED})
    assert answer.status_code < 500, answer.text[:300]


def test_edge_outbox_seq_beyond_int64_is_not_a_500(servers: Servers) -> None:
    answer = servers["edge"].get("/v1/outbox/9223372036854775808")
    assert answer.status_code < 500, answer.text[:300]
