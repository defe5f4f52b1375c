"""X12 parse + check + map + contract validation throughput, beside a plain ``bytes.split`` floor.

``cases()`` gives (name, document bytes, function) for the runner (benchmarks/formats.py): the
valid corpus files that map to events, and a generated 850 with 500 lines. ``main`` prints
documents/s and MB/s per case. Run: ``.venv/bin/python benchmarks/formats_x12.py``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from plantwire.adapters.x12.mapping import Partner  # noqa: E402
from plantwire.adapters.x12.sink import emit_850  # noqa: E402
from plantwire.adapters.x12.translate import to_events  # noqa: E402
from plantwire.adapters.x12.validate import parse  # noqa: E402
from plantwire.domain.catalog import CATALOG  # noqa: E402
from plantwire.domain.commands import SendPurchaseOrder  # noqa: E402
from plantwire.service.validation import validate_event  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "x12"
FILES = ["node-x12/850.edi", "node-x12/855.edi", "node-x12/856.edi", "edi-net/x12.810a.edi",
         "staedi/simple810.edi", "staedi/simple997.edi"]
PARTNER = Partner()


def parse_and_validate(data: bytes) -> int:
    """Read and check the interchange, map every set, validate every event against its contract."""
    count = 0
    for ic in parse(data):
        for group in ic.groups:
            for tset in group.sets:
                for event in to_events(ic, group, tset, PARTNER):
                    validate_event(event, CATALOG)
                    count += 1
    return count


def _big_850(lines: int) -> bytes:
    cmd = SendPurchaseOrder.model_validate({
        "po_number": "4500099999", "revision": 0, "plant": "1000", "supplier_id": "SUP-100",
        "currency": "EUR",
        "lines": [{"line": 10 * (n + 1), "item_id": f"RM-{n:05d}", "quantity": {"value": "12.5", "uom": "EA"},
                   "delivery_date": date(2026, 12, 1), "unit_price": "3.10"} for n in range(lines)]})
    return emit_850(cmd, PARTNER, "bench", datetime(2026, 11, 27, tzinfo=UTC))


def cases() -> list[tuple[str, bytes, Callable[[bytes], object]]]:
    """(name, document, parse + validate + map) for each benchmarked X12 document."""
    found: list[tuple[str, bytes, Callable[[bytes], object]]] = [
        (f"x12 {name}", (CORPUS / name).read_bytes(), parse_and_validate) for name in FILES]
    found.append(("x12 generated 850, 500 lines", _big_850(500), parse_and_validate))
    return found


def _rate(fn: Callable[[bytes], object], data: bytes, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn(data)
        n += 1
    return n / elapsed


def main(seconds: float = 1.0) -> None:
    """Print documents/s and MB/s for each case and for its bytes.split floor."""
    print(f"{'case':36} {'bytes':>8} {'docs/s':>10} {'MB/s':>8} {'split docs/s':>13} {'split MB/s':>10}")
    for name, data, fn in cases():
        rate = _rate(fn, data, seconds)
        floor = _rate(lambda b: [s.split(b"*") for s in b.split(b"~")], data, seconds / 4)
        mb = len(data) / 1e6
        print(f"{name:36} {len(data):>8} {rate:>10.0f} {rate * mb:>8.2f} {floor:>13.0f} {floor * mb:>10.1f}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case (default 1.0 s)")
    parser.add_argument("--quick", action="store_true", help="0.05 s per case (a smoke run)")
    args = parser.parse_args()
    main(0.05 if args.quick else args.seconds)
