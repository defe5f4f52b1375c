"""Partner formats end to end: X12 between a real hub and the supplier simulator's EDI channel.

`plantwire serve --erp URL --supplier x12+http://...`, the ERP and supplier simulators as real
processes. An approved ERP PO leaves as an 850 (once, though the first POST is answered 500 after the
supplier took it), the supplier's 997 comes back, then its 855 with one line accepted and one
changed; the hub journals the acknowledgment, answers with a 997 and the po-ack flow updates the ERP
PO. An 855 with a wrong SE count is answered with a rejecting 997 and journals nothing.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest

from plantwire.cli.demo import Stack, api_key
from plantwire.simulators.plantday import VENDOR
from plantwire.simulators.testing import PLANTWIRE, SimProcess, free_port

T = TypeVar("T")
ACKNOWLEDGED = "procurement.supplier.acknowledged"
RULES = {"ackDelaySeconds": 0.5, "default": "accept", "autoShipSeconds": None,
         "parts": {"BOLT-M8": {"action": "change", "factor": 0.9, "reason": "pack size"}}}
HOUSING, BOLTS = "20000011", "20000058"  # HSG-A1 (accepted), BOLT-M8 (cut to 90 %)


@dataclass
class EdiStack:
    """The two simulators and the hub, with clients on each."""

    erp: httpx.Client
    supplier: httpx.Client
    hub: httpx.Client
    state: Callable[[str, str], list[tuple[str, Any]]]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def edi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdiStack]:
    root = tmp_path_factory.mktemp("edi")
    erp, supplier = SimProcess("erp", root / "erp").start(), SimProcess("supplier", root / "supplier").start()
    data_dir, port = root / "hub", free_port()
    data_dir.mkdir()
    token = api_key(data_dir)
    args = [PLANTWIRE, "serve", "--data-dir", str(data_dir), "--port", str(port), "--erp", erp.url,
            "--supplier", f"x12+{supplier.url}?partner=ACMECOMP&us=PLANTWIRE"]
    with open(root / "hub.log", "ab") as log:
        hub = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    reader = Stack(root)  # only for its read-only view of the hub's state database
    reader.data_dir = data_dir
    try:
        wait_for("the hub to answer", lambda: _up(url, hub), timeout=30)
        with erp.client() as e, supplier.client() as s, httpx.Client(
                base_url=url, timeout=30, headers={"authorization": f"Bearer {token}"}) as h:
            s.put("/admin/rules", json=RULES).raise_for_status()
            yield EdiStack(e, s, h, reader.state)
    finally:
        hub.terminate()
        try:
            hub.wait(15)
        except subprocess.TimeoutExpired:
            hub.kill()
        erp.kill()
        supplier.kill()
        print((root / "hub.log").read_text()[-3000:])


def _up(url: str, proc: subprocess.Popen[bytes]) -> bool:
    assert proc.poll() is None, f"the hub exited with {proc.returncode}"
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def approve_po(edi: EdiStack, items: dict[str, int]) -> str:
    lines = [{"MATNR": m, "MENGE": q, "NETPR": "1.00", "MEINS": "ST", "LGORT": "RM01"}
             for m, q in items.items()]
    resp = edi.erp.post("/admin/purchase-orders", json={"LIFNR": VENDOR, "ITEMS": lines, "APPROVE": True})
    resp.raise_for_status()
    return str(resp.json()["EBELN"])


def edi_counts(edi: EdiStack) -> dict[str, int]:
    counts: dict[str, int] = edi.supplier.get("/admin/counts").json()["edi"]
    return counts


def outbound(edi: EdiStack, po: str, set_id: str) -> list[dict[str, Any]]:
    docs = edi.supplier.get("/edi/outbound", params={"limit": 1000}).json()["documents"]
    return [d for d in docs if d["po"] == po and d["set"] == set_id]


def acknowledgments(edi: EdiStack, po: str) -> list[dict[str, Any]]:
    events = edi.hub.get("/v1/events", params={"type": ACKNOWLEDGED, "limit": 1000, "after": 0}).json()
    return [e["event"] for e in events["events"] if e["event"]["data"]["po_number"] == po]


def flow(edi: EdiStack, po: str) -> dict[str, Any]:
    found = dict(edi.state("flow:po-ack", f"{po}|r0"))
    return dict(found.get(f"{po}|r0") or {})


def test_850_855_997_round_trip(edi: EdiStack) -> None:
    edi.supplier.put("/admin/edi", json={"failInbound": 1}).raise_for_status()
    po = approve_po(edi, {HOUSING: 100, BOLTS: 400})

    done = wait_for("the po-ack flow to finish",
                    lambda: (f := flow(edi, po)).get("status") == "finished" and f)
    assert done["outcome"] == "accepted+changed"
    counts = wait_for("the hub's 997 for the 855", lambda: (c := edi_counts(edi))["997_received"] and c)
    # one 850 taken; the resend after the injected 500 was recognised by its ISA13, not taken again
    assert counts == {"850_received": 1, "duplicates": 1, "997_sent": 1, "855_sent": 1, "997_received": 1,
                      "rejected": 0}, counts
    order = edi.supplier.get(f"/api/purchase-orders/{po}").json()
    assert order["status"] == "ACKNOWLEDGED" and edi.supplier.get("/admin/counts").json()["orders"] == 1
    [sent] = outbound(edi, po, "855")
    assert sent["ack_status"] == "A"  # the hub's 997 accepted the 855's group

    [event] = acknowledgments(edi, po)
    assert event["source"] == "x12/ACMECOMP"
    assert {ln["line"]: ln["status"] for ln in event["data"]["lines"]} == {10: "accepted", 20: "changed"}
    items = {int(i["EBELP"]): i for i in edi.erp.get(f"/api/purchase-orders/{po}").json()["ITEMS"]}
    assert items[10]["CONF_STATUS"] == "OPEN" and Decimal(items[10]["MENGE"]) == 100
    assert items[20]["CONF_STATUS"] == "CHANGED" and Decimal(items[20]["MENGE"]) == 360
    received = edi.supplier.get("/admin/edi/inbound").json()
    assert [s["set"] for r in received for s in r["sets"]] == ["850", "997"]


def test_malformed_855_rejected_by_997(edi: EdiStack) -> None:
    edi.supplier.put("/admin/edi", json={"malformNext855": 1}).raise_for_status()
    before = edi_counts(edi)
    po = approve_po(edi, {HOUSING: 10})

    sent = wait_for("the hub's 997 for the broken 855",
                    lambda: [d for d in outbound(edi, po, "855") if d["ack_status"]], timeout=30)
    assert sent[0]["ack_status"] == "R"
    answer = next(r["body"] for r in edi.supplier.get("/admin/edi/inbound").json()
                  if f"AK1*PR*{sent[0]['gs_control']}~" in r["body"])
    segments = [s.strip() for s in answer.split("~") if s.strip()]
    # AK1 names the 855's group, AK2 the set (855, control 0001), AK5 rejects it with code 4 (number
    # of included segments does not match the actual count), AK9 rejects the group
    acks = [s for s in segments if s.startswith("AK")]
    assert acks[:2] == [f"AK1*PR*{sent[0]['gs_control']}", "AK2*855*0001"], acks
    ak5 = next(s.split("*") for s in acks if s.startswith("AK5"))
    assert ak5[1] == "R" and "4" in ak5[2:], acks
    assert acks[-1] == "AK9*R*1*1*0", acks
    after = edi_counts(edi)
    assert after["997_received"] == before["997_received"] + 1 and after["850_received"] == 2

    assert acknowledgments(edi, po) == []  # nothing journaled from the rejected set
    assert flow(edi, po).get("status") != "finished"
    [source] = edi.hub.get("/v1/sources").json()["sources"][-1:]
    refused = [q for q in source["quarantined"] if q["document"]["po"] == po]
    assert refused and any("SE01" in i["message"] for i in refused[0]["issues"]), refused
