"""Operator routes of a real `plantwire serve` over real HTTP: body limits (413, also for a chunked
body with no Content-Length, and the hub still answers after), unknown fields refused with 422 at
their path, and error bodies that do not echo megabytes back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .conftest import HubFactory
from .hubs import HubProcess

MIB = 1024 * 1024


@pytest.fixture
def hub(hub_factory: HubFactory) -> HubProcess:
    return hub_factory(serve_args=("--max-operator-body-mb", "1"))


@pytest.fixture
def client(hub: HubProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.base_url, timeout=30.0,
                      headers={"authorization": f"Bearer {hub.token}"}) as c:
        yield c


def _rss(hub: HubProcess) -> int:
    assert hub.proc is not None
    status = open(f"/proc/{hub.proc.pid}/status").read()  # noqa: SIM115 - one short read
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


def test_an_oversized_import_is_413_and_memory_stays_bounded(hub: HubProcess, client: httpx.Client) -> None:
    row = b"erp,item,MAT-%07d,FG-%07d\n"
    declared = client.post("/v1/xref/import", content=b"system,kind,system_id,golden\n" + b"x" * (2 * MIB),
                           headers={"content-type": "text/csv"})
    assert declared.status_code == 413, declared.text
    assert declared.json()["error"]["rule"] == "body-too-large"
    before = _rss(hub)

    def chunks() -> Iterator[bytes]:  # 64 MiB with no Content-Length: read in chunks, stopped at 1 MiB
        yield b"system,kind,system_id,golden\n"
        for block in range(64):
            yield b"".join(row % (block * 10_000 + i, i) for i in range(32_768))[:MIB]

    streamed = client.post("/v1/xref/import", content=chunks(), headers={"content-type": "text/csv"})
    assert streamed.status_code == 413, streamed.text
    assert _rss(hub) - before < 48 * MIB  # nowhere near the 64 MiB sent
    assert client.get("/healthz").status_code == 200
    small = b"system,kind,system_id,golden\nerp,item,MAT-1,FG-1\n"
    imported = client.post("/v1/xref/import", content=small, headers={"content-type": "text/csv"})
    assert imported.status_code == 200, imported.text


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/v1/dead-letters/1/discard", {"reason": "booked twice", "reson": "x"}, "$.reson"),
    ("POST", "/v1/exceptions/1/resolve", {"note": "by phone", "notes": "x"}, "$.notes"),
    ("POST", "/v1/replay", {"subscriber": "inventory", "key": "PO-1"}, "$.key"),
    ("PUT", "/v1/xref/erp/item/MAT-1", {"golden": "FG-1", "reason": "x"}, "$.reason"),
    ("PUT", "/v1/uom/rounding/KG", {"places": 3, "mode": "half-up", "unit": "KG"}, "$.unit"),
    ("PUT", "/v1/valuemaps/acme/status/OK", {"value": "accepted", "map": "x"}, "$.map"),
    ("PUT", "/v1/dq/rules", {"rules": [], "version": 3}, "$.version"),
    ("POST", "/v1/dq/review/r1/reject", {"note": "x", "force": True}, "$.force"),
])
def test_unknown_fields_are_422_at_their_path(client: httpx.Client, method: str, path: str,
                                              body: dict[str, object], field: str) -> None:
    resp = client.request(method, path, json=body)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert (error["path"], error["rule"]) == (field, "extra_forbidden")


def test_an_error_does_not_echo_a_huge_value(client: httpx.Client) -> None:
    resp = client.post("/v1/replay", json={"subscriber": "inventory", "since": "x" * 500_000})
    assert resp.status_code == 422, resp.text[:300]
    assert resp.json()["error"]["path"] == "$.since"
    assert len(resp.content) < 4000 and "more characters" in resp.json()["error"]["message"]
