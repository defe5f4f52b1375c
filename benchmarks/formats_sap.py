"""Parse throughput of the SAP, Oracle Fusion and Dynamics 365 mapping packs over their synthetic fixtures.

`cases()` gives (name, document bytes, parse-and-map function) for the runner in benchmarks/formats.py;
`main()` prints documents/s and MB/s per case beside a plain ``bytes.split`` tokenization of the same
bytes (the floor: no parser can be faster than reading the bytes once).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from plantwire.adapters.d365 import translate as dt
from plantwire.adapters.d365.mapping import D365Mapping
from plantwire.adapters.oracle_fusion import translate as orc
from plantwire.adapters.oracle_fusion.mapping import OracleMapping
from plantwire.adapters.sap.idoc import translate as it
from plantwire.adapters.sap.mapping import SapMapping
from plantwire.adapters.sap.odata import translate as ot

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "formats" / "fixtures"
SAP, ORACLE, D365 = SapMapping(), OracleMapping(), D365Mapping()

PARSERS: dict[str, tuple[str, Callable[[bytes], object]]] = {
    "sap/loipro01": ("sap/loipro01_released.xml", lambda b: it.loipro_events(b, SAP)),
    "sap/orders05": ("sap/orders05_ordchg.xml", lambda b: it.parse_orders(b, SAP)),
    "sap/ordrsp": ("sap/ordrsp_changed.xml", lambda b: it.ordrsp_events(b, SAP)),
    "sap/desadv": ("sap/desadv_delvry07.xml", lambda b: it.desadv_events(b, SAP)),
    "sap/mbgmcr03": ("sap/mbgmcr03_gr_po_101.xml", lambda b: it.parse_mbgmcr(b, SAP)),
    "sap/odata-confirmation": (
        "sap/odata_v2_prodnordconf2.json",
        lambda b: ot.confirmation_events(json.loads(b), SAP),
    ),
    "sap/odata-material-doc": (
        "sap/odata_v4_material_document_post.json",
        lambda b: ot.parse_material_document(json.loads(b), SAP),
    ),
    "oracle/work-orders": (
        "oracle/work_order_released.json",
        lambda b: orc.work_order_events(json.loads(b), ORACLE),
    ),
    "oracle/purchase-orders": (
        "oracle/purchase_order_open.json",
        lambda b: orc.purchase_order_events(json.loads(b), ORACLE),
    ),
    "d365/production-orders": (
        "d365/production_order_released.json",
        lambda b: dt.production_order_events(json.loads(b), D365),
    ),
    "d365/purchase-orders": (
        "d365/purchase_order_approved.json",
        lambda b: dt.purchase_order_events(json.loads(b), D365),
    ),
    "d365/journals": ("d365/transfer_journal.json", lambda b: dt.parse_journal(json.loads(b), D365)),
}


def cases() -> list[tuple[str, bytes, Callable[[bytes], object]]]:
    """(name, document, parse + map to canonical) for every benchmarked document kind."""
    return [(name, (FIXTURES / path).read_bytes(), parse) for name, (path, parse) in PARSERS.items()]


def _rate(data: bytes, work: Callable[[bytes], object], seconds: float) -> tuple[float, float]:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            work(data)
        count += 50
    return count / elapsed, count * len(data) / elapsed / 1e6


def main(seconds: float = 0.5) -> None:
    """Print docs/s and MB/s per case, and the bytes.split floor."""
    print(f"{'case':26} {'bytes':>6} {'docs/s':>10} {'MB/s':>7} {'split docs/s':>13} {'split MB/s':>10}")
    for name, data, parse in cases():
        docs, mbs = _rate(data, parse, seconds)
        floor_docs, floor_mbs = _rate(data, lambda b: b.split(), seconds)
        print(f"{name:26} {len(data):6d} {docs:10.0f} {mbs:7.2f} {floor_docs:13.0f} {floor_mbs:10.1f}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per case (default 0.5 s)")
    parser.add_argument("--quick", action="store_true", help="0.05 s per case (a smoke run)")
    args = parser.parse_args()
    main(0.05 if args.quick else args.seconds)
