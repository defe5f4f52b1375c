"""The ERP part of the chaos test: purchase orders in a real ERP simulator, goods receipts against
them in the event stream, the flows that post them, and the proof that the ERP holds each posting
exactly once.

The ERP creates the POs unapproved before the run; `Approver` approves each one at about the
moment the stream reaches its first receipt, so the ERP's feed (polled by every worker, deduped by
ingest) brings `procurement.po.approved` sometimes before and sometimes after the receipt (the
receipt flow then waits for its PO). Each PO has two lines, received by two receipts, one line each;
per receipt line the "receipt" flow posts a goods receipt (101 against the PO) and then its
accounting document, each carrying `receipt/<po>/<step>` as REF_DOC_NO.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from plantwire.adapters.sim_erp.translate import reference
from plantwire.journal.postgres import PgTarget
from plantwire.journal.postgres_state import PostgresState
from plantwire.simulators.scenario import event, qty

PLANTS = ("1000", "2000")
SUPPLIER, LIFNR = "SUP-100", "0000100100"
LINES = ((10, "RM-HOUSING-A", "20000011", 20, "12.50"), (20, "RM-IMPELLER-7", "20000027", 30, "3.10"))
"""PO line, golden item, MATNR, quantity, net price: each PO orders both, each receipt takes one."""
FAULTS = {"error_rate": 0.1, "timeout_rate": 0.01, "timeout_seconds": 12.0, "seed": 7}
"""During the ERP fault window: 10 % of calls answered 500 unprocessed, 1 % carried out but answered
after 12 s (the sink gives up after 10 s and sends again: the ERP must find the first posting)."""


@dataclass(frozen=True)
class Po:
    """A purchase order the ERP simulator numbered."""

    ebeln: str
    plant: str

    def receipt_ids(self) -> list[str]:
        return [f"{self.ebeln}-{n}" for n in range(1, len(LINES) + 1)]

    def refs(self, kind: str) -> list[str]:
        """REF_DOC_NO of each posting of `kind` ("gr" or "fi"): the flow step's idempotency key."""
        return [reference(f"receipt/{self.ebeln}/{kind}:{rid}:1") for rid in self.receipt_ids()]


def create_pos(erp_url: str, count: int) -> list[Po]:
    """`count` POs in the ERP, created but not approved (their approval is part of the run)."""
    pos: list[Po] = []
    with httpx.Client(base_url=erp_url, timeout=10) as http:
        for i in range(count):
            plant = PLANTS[i % len(PLANTS)]
            r = http.post("/admin/purchase-orders", json={
                "WERKS": plant, "LIFNR": LIFNR, "APPROVE": False,
                "ITEMS": [{"EBELP": line, "MATNR": matnr, "MENGE": q, "NETPR": price}
                          for line, _, matnr, q, price in LINES]})
            r.raise_for_status()
            pos.append(Po(r.json()["EBELN"], plant))
    return pos


def receipts(po: Po) -> list[dict[str, Any]]:
    """The WMS's goods receipts of a PO: one per line, as CloudEvents."""
    at = datetime.fromisoformat("2026-11-27T08:00:00+00:00")
    return [event(f"wms/plant-{po.plant}", f"GR-{rid}", "procurement.goods.received",
                  {"receipt_id": rid, "po_number": po.ebeln, "plant": po.plant, "supplier_id": SUPPLIER,
                   "received_at": at.isoformat(),
                   "lines": [{"line": 1, "po_line": line, "item_id": item, "quantity": qty(q),
                              "storage_location": "RM01"}]}, at, po.plant)
            for rid, (line, item, _, q, _) in zip(po.receipt_ids(), LINES, strict=True)]


def approval_id(po: Po) -> str:
    """The tally identity of the po.approved the ERP feed brings (see adapters/sim_erp/translate)."""
    return f"erp/plant-{po.plant}\x1fPO-{po.ebeln}/rev-0"


def mix(bulk: list[dict[str, Any]], pos: list[Po]) -> tuple[list[dict[str, Any]], list[int]]:
    """The stream: the bulk with each PO's receipts spread between 2 % and 85 % of it, the second
    receipt of a PO about 4 % after the first. Also each PO's position of its first receipt."""
    total = len(bulk) + len(LINES) * len(pos)
    span, gap = int(total * 0.83), max(1, int(total * 0.04))
    placed = sorted((int(total * 0.02) + i * span // len(pos) + n * gap, i, n)
                    for i in range(len(pos)) for n in range(len(LINES)))
    out: list[dict[str, Any]] = []
    firsts = [0] * len(pos)
    rest = iter(bulk)
    for at, i, n in placed:
        out.extend(e for _, e in zip(range(max(0, at - len(out))), rest, strict=False))
        if n == 0:
            firsts[i] = len(out)
        out.append(receipts(pos[i])[n])
    out.extend(rest)
    return out, firsts


class Approver(threading.Thread):
    """Approves each PO in the ERP once the sender is about to send its first receipt."""

    def __init__(self, erp_url: str, pos: list[Po], firsts: list[int], acked: Callable[[], int],
                 lead: int = 200) -> None:
        super().__init__(daemon=True)
        self.erp_url, self.pos, self.firsts, self.acked, self.lead = erp_url, pos, firsts, acked, lead
        self.approved = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.erp_url, timeout=10) as http:  # /admin is never faulted
            for po, first in zip(self.pos, self.firsts, strict=True):
                while self.acked() < first - self.lead and not self.stop.wait(0.05):
                    pass
                if self.stop.is_set():
                    return
                http.post(f"/admin/purchase-orders/{po.ebeln}/approve").raise_for_status()
                self.approved += 1


@dataclass
class FlowOutcome:
    """What the receipt flow recorded for the ERP POs."""

    posted: int
    not_posted: list[str]
    resent: int
    """Postings the ERP answered "already posted": the same key sent again and found."""


def flow_outcome(target: PgTarget, pos: list[Po]) -> FlowOutcome:
    state = PostgresState(target)
    try:
        with state.transaction() as tx:
            instances = {po.ebeln: tx.get("flow:receipt", po.ebeln) for po in pos}
    finally:
        state.close()
    posted, resent, missing = 0, 0, []
    for po in pos:
        inst = instances[po.ebeln] or {"state": {"receipts": {}}, "steps": {}}
        for rid in po.receipt_ids():
            r = inst["state"]["receipts"].get(rid)
            if r and r["status"] == "posted" and len(r["fi_docs"]) == 1:
                posted += 1
            else:
                missing.append(f"{rid}: {r and r['status']}")
        resent += sum(1 for s in inst["steps"].values() if (s.get("result") or {}).get("existing"))
    return FlowOutcome(posted, missing, resent)


def check_erp(db_path: Path, pos: list[Po]) -> dict[str, int]:
    """Every expected posting is in the ERP exactly once, nothing else is, and each PO line was
    received exactly its quantity; returns the document counts."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        mkpf = dict(conn.execute("SELECT ref_doc_no, count(*) FROM mkpf GROUP BY ref_doc_no").fetchall())
        bkpf = dict(conn.execute("SELECT ref_doc_no, count(*) FROM bkpf GROUP BY ref_doc_no").fetchall())
        docs = conn.execute("SELECT count(*) FROM mkpf").fetchone()[0]
        acc = conn.execute("SELECT count(*) FROM bkpf").fetchone()[0]
        moves = dict(conn.execute("SELECT bwart, count(*) FROM mseg GROUP BY bwart").fetchall())
        wemng = {(e, p): Decimal(w) for e, p, w in conn.execute("SELECT ebeln, ebelp, wemng FROM ekpo")}
        linked = conn.execute("SELECT count(*) FROM bkpf b JOIN mkpf k USING (mblnr, mjahr)").fetchone()[0]
    finally:
        conn.close()
    gr = [ref for po in pos for ref in po.refs("gr")]
    fi = [ref for po in pos for ref in po.refs("fi")]
    twice = {r: n for r, n in {**mkpf, **bkpf}.items() if n != 1}
    assert not twice, f"ERP documents doubled: {list(twice.items())[:5]}"
    missing = [r for r in gr if r not in mkpf] + [r for r in fi if r not in bkpf]
    assert not missing, f"{len(missing)} postings missing in the ERP: {missing[:5]}"
    assert (docs, acc) == (len(gr), len(fi)), f"ERP holds {docs} material and {acc} accounting documents, " \
                                              f"expected {len(gr)} and {len(fi)}"
    assert moves == {"101": len(gr)}, f"movement types in the ERP: {moves}"
    assert linked == acc, "an accounting document names no goods receipt"
    ordered = {line: Decimal(q) for line, _, _, q, _ in LINES}
    wrong = {k: w for k, w in wemng.items() if w != ordered[k[1]]}
    assert not wrong, f"PO lines received other than once: {list(wrong.items())[:5]}"
    return {"material": docs, "accounting": acc}


def set_faults(erp_url: str, faults: dict[str, Any] | None) -> None:
    with httpx.Client(base_url=erp_url, timeout=10) as http:
        if faults:
            http.put("/admin/faults", json=faults).raise_for_status()
        else:
            http.delete("/admin/faults").raise_for_status()


def wait_posted(target: PgTarget, pos: list[Po], timeout: float) -> float:
    """Seconds until the flow has posted every receipt line (fails with what is missing)."""
    t0 = time.monotonic()
    outcome = flow_outcome(target, pos)
    while outcome.not_posted and time.monotonic() - t0 < timeout:
        time.sleep(1)
        outcome = flow_outcome(target, pos)
    assert not outcome.not_posted, f"{len(outcome.not_posted)} receipts not posted: {outcome.not_posted[:5]}"
    return time.monotonic() - t0
