"""Hostile input against one running hub: every bad request gets its 4xx, and the hub goes on.

One `plantwire serve` receives, in turn: XML bombs (as XML and disguised as CloudEvents JSON),
50 MB bodies (declared and chunked), 10,000-deep JSON, invalid UTF-8, wrong JSON types in every
CloudEvents attribute, megabyte strings in id and source, oversized and malformed batches, a
batch mixing good, bad, conflicting and duplicate events, missing, malformed, unknown and revoked
bearer tokens, and garbage query parameters on every GET endpoint. After each hostile request a
valid event is sent and must get a 202. At the end /healthz is fine, the journal holds exactly
the valid events sent, no response anywhere was a 5xx, and the hub logged no unhandled error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson

from plantwire.simulators.scenario import plant_day

from .hubs import BATCH, STRUCTURED, HubProcess, identity

XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""
FIFTY_MB = 50 * 1024 * 1024
ATTRIBUTES = ("id", "source", "type", "specversion", "time", "subject", "datacontenttype",
              "dataschema", "partitionkey", "contractversion", "data", "plant")
WRONG_VALUES: tuple[Any, ...] = (123, True, 1.5, [], {}, [1, "a"], {"a": {"b": None}})
EXTENSION_OK = (int, bool)  # CloudEvents extensions may be integers or booleans


class Session:
    """One hub, one client, and the books: every response, every valid event journaled."""

    def __init__(self, hub: HubProcess) -> None:
        self.hub = hub
        self.client = hub.client(timeout=120.0)
        self.valid: Iterator[dict[str, Any]] = iter(plant_day("3000", orders=60, seed=5))
        self.journaled: set[tuple[str, str]] = set()
        self.statuses: list[tuple[str, int]] = []
        self.failures: list[str] = []
        self.hostile_sent = 0

    def request(self, name: str, method: str, url: str, **kw: Any) -> httpx.Response:
        r = self.client.request(method, url, **kw)
        self.statuses.append((name, r.status_code))
        return r

    def hostile(self, name: str, expect: int | tuple[int, ...], rule: str | None,
                send: Callable[[], httpx.Response], path: str | None = None) -> httpx.Response:
        """Send a hostile request, check its answer, then check a valid event still gets in."""
        r = send()
        self.hostile_sent += 1
        self.statuses.append((name, r.status_code))
        if r.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
            self.failures.append(f"{name}: expected {expect}, got {r.status_code} {r.text[:200]}")
        elif rule is not None or path is not None:
            body = r.json()
            errors = [body["error"]] if "error" in body else [
                e for res in body.get("results", []) for e in res.get("errors", [])]
            if rule is not None and rule not in {e["rule"] for e in errors}:
                self.failures.append(f"{name}: no error with rule {rule!r} in {r.text[:300]}")
            if path is not None and not any(e["path"].startswith(path) for e in errors):
                self.failures.append(f"{name}: no error at {path!r} in {r.text[:300]}")
        self.send_valid(f"valid after {name}")
        return r

    def post(self, content: bytes | Iterator[bytes], content_type: str | None = STRUCTURED,
             **headers: str) -> httpx.Response:
        if content_type is not None:
            headers["content-type"] = content_type
        return self.client.post("/v1/events", content=content, headers=headers)

    def send_valid(self, name: str) -> None:
        ev = next(self.valid)
        r = self.request(name, "POST", "/v1/events", content=orjson.dumps(ev),
                         headers={"content-type": STRUCTURED})
        if r.status_code != 202:
            self.failures.append(f"{name}: valid event got {r.status_code} {r.text[:200]}")
        else:
            self.journaled.add(identity(ev))

    def event(self, **changes: Any) -> dict[str, Any]:
        """A fresh valid event (not sent), with attributes replaced."""
        return {**next(self.valid), **changes}


def chunks(total: int, size: int = 1024 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def test_hostile_input(running_hub: HubProcess) -> None:
    s = Session(running_hub)
    started = time.monotonic()
    bodies(s)
    attributes(s)
    batches(s)
    auth(s)
    queries(s)
    elapsed = time.monotonic() - started

    assert s.failures == [], "\n".join(s.failures)
    health = httpx.get(f"{running_hub.base_url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["journal_head"] == len(s.journaled)
    rows = running_hub.journal_rows()
    assert {(src, eid) for _, src, eid, _, _ in rows} == s.journaled
    server_errors = [(n, st) for n, st in s.statuses if st >= 500]
    assert server_errors == []
    log = running_hub.log_text()
    assert "Traceback" not in log and "unhandled error" not in log, running_hub.log_tail()
    s.client.close()
    print(f"\nhostile input: {s.hostile_sent} hostile requests, each followed by a valid event; "
          f"{len(s.journaled)} events journaled = valid ones sent; 0 responses >= 500; "
          f"{elapsed:.1f}s")


def bodies(s: Session) -> None:
    s.hostile("xml bomb as xml", 415, "unsupported-media-type",
              lambda: s.post(XML_BOMB, "application/xml"))
    s.hostile("xml bomb as cloudevents", 400, "invalid-json", lambda: s.post(XML_BOMB))
    s.hostile("xml bomb as batch", 400, "invalid-json", lambda: s.post(XML_BOMB, BATCH))
    s.hostile("xml bomb in binary mode", 415, "unsupported-datacontenttype",
              lambda: s.post(XML_BOMB, "application/xml", **{"ce-specversion": "1.0"}))
    s.hostile("no content type", 415, "unsupported-media-type", lambda: s.post(b"{}", None))
    s.hostile("50 MB declared", 413, "body-too-large",
              lambda: s.post(b"[" + b" " * (FIFTY_MB - 2) + b"]", BATCH))
    s.hostile("50 MB chunked", 413, "body-too-large", lambda: s.post(chunks(FIFTY_MB)))
    assert httpx.get(f"{s.hub.base_url}/healthz").status_code == 200
    deep_array = b"[" * 10_000 + b"]" * 10_000
    deep_object = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    s.hostile("10,000-deep array", 400, "nesting-too-deep", lambda: s.post(deep_array))
    s.hostile("10,000-deep object in batch", 400, "nesting-too-deep",
              lambda: s.post(b"[" + deep_object + b"]", BATCH))
    deep_data = orjson.dumps(s.event(data="DEEP")).replace(
        b'"DEEP"', b'{"a":' * 10_000 + b"1" + b"}" * 10_000)
    s.hostile("10,000-deep data", 400, "nesting-too-deep", lambda: s.post(deep_data))
    for name, raw in (("0xff", b"\xff\xfe"), ("overlong", b"\xc0\xaf"), ("surrogate", b"\xed\xa0\x80"),
                      ("truncated", b"\xe2\x82")):
        body = b'{"specversion":"1.0","id":"' + raw + b'","source":"x","type":"y","data":{}}'
        s.hostile(f"invalid utf-8 {name}", 400, "invalid-utf8", lambda b=body: s.post(b))
    s.hostile("invalid utf-8 in binary data", 400, "invalid-utf8", lambda: s.post(
        b'{"a":"\xff"}', "application/json", **{"ce-specversion": "1.0", "ce-id": "b1",
                                                  "ce-source": "x", "ce-type": "y"}))
    s.hostile("not json", 400, "invalid-json", lambda: s.post(b"{'id': 1,}"))
    s.hostile("empty body", 400, "invalid-json", lambda: s.post(b""))
    for name, body in (("array event", b"[]"), ("string event", b'"x"'), ("null event", b"null")):
        s.hostile(name, 422, "type", lambda b=body: s.post(b))


def attributes(s: Session) -> None:
    for attr in ATTRIBUTES:
        for value in WRONG_VALUES:
            if attr == "plant" and isinstance(value, EXTENSION_OK):
                continue
            ev = s.event(**{attr: value})
            s.hostile(f"{attr}={value!r}", 422, None,
                      lambda e=ev: s.post(orjson.dumps(e)), path=f"$.{attr}")
    for attr in ("id", "source", "type", "specversion", "data"):
        ev = s.event()
        ev[attr] = None
        s.hostile(f"{attr}=null", 422, "required" if attr != "data" else "type",
                  lambda e=ev: s.post(orjson.dumps(e)), path=f"$.{attr}")
    s.hostile("1 MB id", 422, "max-length",
              lambda: s.post(orjson.dumps(s.event(id="i" * 1_000_000))), path="$.id")
    s.hostile("10 MB source", 422, "max-length",
              lambda: s.post(orjson.dumps(s.event(source="s" * 10_000_000))), path="$.source")
    s.hostile("8 KB ce-id header", 422, "max-length", lambda: s.post(
        b'{"po_number":"1"}', "application/json",
        **{"ce-specversion": "1.0", "ce-id": "i" * 8000, "ce-source": "x",
           "ce-type": "procurement.po.approved"}), path="$.id")
    big = s.event()
    big["data"] = {**big["data"], "plant": "p" * 100_000}
    s.hostile("100 KB string in data", 422, "string_too_long",
              lambda: s.post(orjson.dumps(big)), path="$.data.plant")
    many = s.event(**{f"x{i}": "v" for i in range(40)})
    s.hostile("40 extensions", 422, "too-many-extensions", lambda: s.post(orjson.dumps(many)))


def batches(s: Session) -> None:
    template = s.event()
    s.hostile("batch of 1001", 413, "batch-too-large", lambda: s.post(
        orjson.dumps([{**template, "id": f"b{i}"} for i in range(1001)]), BATCH))
    empty = s.post(b"[]", BATCH)
    assert (empty.status_code, empty.json()["results"]) == (202, []), empty.text
    s.hostile("batch not array", 400, "batch-not-array",
              lambda: s.post(orjson.dumps(s.event()), BATCH))
    earlier = next(s.valid)
    assert s.post(orjson.dumps(earlier)).status_code == 202
    s.journaled.add(identity(earlier))
    good1, good2 = s.event(), s.event()
    missing_id = s.event()
    del missing_id["id"]
    conflict = {**earlier, "time": "2030-01-01T00:00:00+00:00"}
    batch = [good1, missing_id, good2, conflict, earlier, 5, s.event(type="no.such.type")]
    r = s.hostile("mixed batch", 207, None, lambda: s.post(orjson.dumps(batch), BATCH))
    body = r.json()
    got = [(x["index"], x["status"]) for x in body["results"]]
    want = [(0, "accepted"), (1, "rejected"), (2, "accepted"), (3, "conflict"), (4, "duplicate"),
            (5, "rejected"), (6, "rejected")]
    if got != want:
        s.failures.append(f"mixed batch results {got} != {want}")
        return
    results = body["results"]
    if (body["accepted"], body["duplicates"], body["rejected"], body["conflicts"]) != (2, 1, 3, 1):
        s.failures.append(f"mixed batch counts wrong: {body}")
    checks = [results[1]["errors"][0]["path"] == "$.id",
              results[1]["errors"][0]["rule"] == "required",
              results[3]["errors"][0]["rule"] == "identity-conflict",
              results[5]["errors"][0]["rule"] == "type",
              results[6]["errors"][0]["rule"] == "unknown-type",
              "seq" not in results[3]]
    if not all(checks):
        s.failures.append(f"mixed batch errors wrong: {checks} {results}")
    lookup = s.request("lookup earlier", "GET", "/v1/events/lookup",
                       params={"source": earlier["source"], "id": earlier["id"]}).json()
    if results[4]["seq"] != lookup["seq"] or lookup["event"]["time"] != earlier["time"]:
        s.failures.append(f"duplicate should point at #{lookup['seq']}, journal kept original")
    for good, res in ((good1, results[0]), (good2, results[2])):
        found = s.request("lookup good", "GET", "/v1/events/lookup",
                          params={"source": good["source"], "id": good["id"]})
        if found.status_code != 200 or found.json()["seq"] != res["seq"]:
            s.failures.append(f"good event of mixed batch not journaled: {found.text[:200]}")
        s.journaled.add(identity(good))
    s.hostile("only conflicts", 409, "identity-conflict",
              lambda: s.post(orjson.dumps([conflict]), BATCH))
    s.hostile("only rejects", 422, "required", lambda: s.post(orjson.dumps([missing_id]), BATCH))


def auth(s: Session) -> None:
    hub = s.hub
    ev = s.event()
    body, headers = orjson.dumps(ev), {"content-type": STRUCTURED}

    def post_with(auth_header: str | bytes | None) -> Callable[[], httpx.Response]:
        def go() -> httpx.Response:
            h = dict(headers)
            if auth_header is not None:
                h["authorization"] = auth_header
            return httpx.post(f"{hub.base_url}/v1/events", content=body, headers=h, timeout=10)
        return go

    for name, header in (("no token", None), ("empty bearer", "Bearer"),
                         ("basic auth", "Basic dXNlcjpwYXNz"), ("unknown token", "Bearer pw_nope"),
                         ("token without scheme", hub.token), ("huge token", "Bearer " + "t" * 6000),
                         ("latin-1 token", "Bearer pw_\xe9\xe8".encode("latin-1"))):
        s.hostile(name, 401, "unauthorized", post_with(header))
    s.hostile("GET without token", 401, "unauthorized",
              lambda: httpx.get(f"{hub.base_url}/v1/status", timeout=10))
    token = hub.cli("keys", "create", "hostile-revoked").stdout.strip()
    s.hostile("live second key", 200, None, lambda: httpx.get(
        f"{hub.base_url}/v1/status", headers={"authorization": f"Bearer {token}"}, timeout=10))
    hub.cli("keys", "revoke", "hostile-revoked")
    deadline = time.monotonic() + 15
    while True:  # the running hub caches keys briefly; revocation must reach it
        r = httpx.get(f"{hub.base_url}/v1/status", headers={"authorization": f"Bearer {token}"},
                      timeout=10)
        if r.status_code == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    s.hostile("revoked token", 401, "unauthorized", post_with(f"Bearer {token}"))


GARBAGE: list[tuple[str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("/v1/events", {"after": "abc"}, (422,)),
    ("/v1/events", {"after": "-1"}, (422,)),
    ("/v1/events", {"after": str(10**30)}, (422,)),
    ("/v1/events", {"after": "1e3"}, (422,)),
    ("/v1/events", {"limit": "0"}, (422,)),
    ("/v1/events", {"limit": "100000"}, (422,)),
    ("/v1/events", {"limit": "NaN"}, (422,)),
    ("/v1/events", {"type": ["\x00", "'; DROP TABLE journal; --", "x" * 5000]}, (200,)),
    ("/v1/events", {"after": ["1", "2", "x"]}, (422, 200)),
    ("/v1/events/lookup", None, (422,)),
    ("/v1/events/lookup", {"source": "x"}, (422,)),
    ("/v1/events/lookup", {"source": "\x00", "id": "' OR 1=1 --"}, (404,)),
    ("/v1/events/lookup", {"source": "%", "id": "%"}, (404,)),
    ("/v1/events/lookup", {"source": "s" * 20_000, "id": "x"}, (404,)),
    ("/v1/events/lookup?source=%ED%A0%80&id=%FF%00", None, (404,)),
    ("/v1/dead-letters", {"status": "\x00", "subscriber": "%", "limit": "5"}, (200,)),
    ("/v1/dead-letters", {"limit": "-1"}, (422,)),
    ("/v1/dead-letters", {"limit": "99999999999999999999999"}, (422,)),
    ("/v1/dead-letters/abc", None, (422,)),
    ("/v1/dead-letters/-1", None, (404,)),
    ("/v1/dead-letters/99999999999999999999999", None, (404,)),
    ("/v1/dead-letters/1.5", None, (422,)),
    ("/v1/inventory", {"prefix": "%\x00\xff" * 100}, (200,)),
    ("/v1/status", {"verbose": "yes", "x": "\x00"}, (200,)),
    ("/v1/nope", None, (404,)),
    ("/v1/events/../status", None, (200, 404)),
]


def queries(s: Session) -> None:
    for path, params, allowed in GARBAGE:
        name = f"GET {path} {str(params)[:60]}"
        s.hostile(name, allowed, None, lambda p=path, q=params: s.client.get(p, params=q))
    s.hostile("DELETE events", 405, None, lambda: s.client.delete("/v1/events"))
    s.hostile("replay bad body", 422, None,
              lambda: s.client.post("/v1/replay", content=b"{not json", headers={
                  "content-type": "application/json"}))
    s.hostile("replay wrong types", 422, None,
              lambda: s.client.post("/v1/replay", json={"subscriber": 5, "dry_run": "maybe"}))
    s.hostile("replay unknown subscriber", 404, "not-found",
              lambda: s.client.post("/v1/replay", json={"subscriber": "nobody", "dry_run": True}))
    s.hostile("replay bad since", 422, "iso-datetime", lambda: s.client.post(
        "/v1/replay", json={"subscriber": "inventory", "since": "yesterday", "dry_run": True}))
    s.hostile("discard missing dead letter", 404, "not-found", lambda: s.client.post(
        "/v1/dead-letters/12345/discard", json={"reason": "x"}))
    s.hostile("discard without reason", 422, None, lambda: s.client.post(
        "/v1/dead-letters/12345/discard", json={}))
    s.hostile("retry missing dead letter", 404, "not-found",
              lambda: s.client.post("/v1/dead-letters/12345/retry"))
