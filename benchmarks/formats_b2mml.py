"""B2MML parse + validate + map throughput, beside a plain ``bytes.split`` tokenization floor.

``cases()`` gives (name, document bytes, function) for the runner (benchmarks/formats.py); ``main``
prints documents/s and MB/s per case. Schemas are built before timing (once per process).
Run: ``.venv/bin/python -m benchmarks.formats_b2mml`` or ``.venv/bin/python benchmarks/formats_b2mml.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from plantwire.adapters.b2mml.mapping import B2mmlMapping
from plantwire.adapters.b2mml.schemas import SchemaSet, Version
from plantwire.adapters.b2mml.sink import emit_production_performance, emit_production_schedule
from plantwire.adapters.b2mml.source import B2mmlReader
from plantwire.domain.commands import DownloadProductionOrder
from plantwire.domain.production import ComponentConsumed, ProductionGoodsCompleted

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "b2mml"
AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def _order(components: int) -> DownloadProductionOrder:
    return DownloadProductionOrder.model_validate({
        "order_id": "1000001", "plant": "1000", "item_id": "FG-PUMP-100",
        "quantity": {"value": "40", "uom": "EA"}, "work_center": "WC-ASSY-1",
        "components": [{"line": 10 * (n + 1), "item_id": f"RM-{n:04d}",
                        "quantity": {"value": "2.5", "uom": "KG"}, "storage_location": "RM01"}
                       for n in range(components)]})


def _report(consumptions: int) -> tuple[ProductionGoodsCompleted, list[ComponentConsumed]]:
    completed = ProductionGoodsCompleted.model_validate({
        "order_id": "1000001", "plant": "1000", "completion_id": "1000001-1", "item_id": "FG-PUMP-100",
        "yield_quantity": {"value": "20", "uom": "EA"}, "lot": "L261127-0001", "storage_location": "FG01",
        "completed_at": "2026-11-27T10:00:00Z", "final": True})
    consumed = [ComponentConsumed.model_validate({
        "order_id": "1000001", "plant": "1000", "consumption_id": f"1000001-c{n}", "item_id": f"RM-{n:04d}",
        "quantity": {"value": str(Decimal("2.5")), "uom": "KG"}, "storage_location": "RM01",
        "consumed_at": "2026-11-27T09:00:00Z", "work_center": "WC-ASSY-1"}) for n in range(consumptions)]
    return completed, consumed


def cases() -> list[tuple[str, bytes, Callable[[bytes], object]]]:
    """(name, document, parse + validate + map) for each benchmarked B2MML document."""
    schemas = SchemaSet(CORPUS)
    for version in Version:
        schemas.schema(version)  # build outside the timed loop
    reader = B2mmlReader(B2mmlMapping(times_from_creation=True), schemas)
    courbon_mapping = B2mmlMapping(plant="COURBON", times_from_creation=True, line_properties=("Indice",))
    courbon = B2mmlReader(courbon_mapping, schemas)
    completed, consumed = _report(20)
    found: list[tuple[str, bytes, Callable[[bytes], object]]] = []
    for version in (Version.V0600, Version.V0701):
        tag = version.value
        found.append((f"b2mml {tag} schedule 5 lines",
                      emit_production_schedule(_order(5), created_at=AT, version=version), reader.parse))
        found.append((f"b2mml {tag} schedule 200 lines",
                      emit_production_schedule(_order(200), created_at=AT, version=version), reader.parse))
        found.append((f"b2mml {tag} performance 1+20",
                      emit_production_performance(completed, consumed, created_at=AT, version=version),
                      reader.parse))
    found.append(("b2mml V0401 corpus schedule",
                  (CORPUS / "examples-v0401-courbon" / "PRO-20121210181416-27942.xml").read_bytes(),
                  courbon.parse))
    return found


def _rate(fn: Callable[[bytes], object], data: bytes, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while True:
        fn(data)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def main(seconds: float = 1.0) -> None:
    """Print documents/s and MB/s for each case and for its bytes.split floor."""
    print(f"{'case':36} {'bytes':>8} {'docs/s':>10} {'MB/s':>8} {'split docs/s':>13} {'split MB/s':>10}")
    for name, data, fn in cases():
        rate = _rate(fn, data, seconds)
        floor = _rate(lambda b: b.split(b"<"), data, seconds / 4)
        mb = len(data) / 1e6
        print(f"{name:36} {len(data):>8} {rate:>10.0f} {rate * mb:>8.2f} {floor:>13.0f} {floor * mb:>10.1f}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case (default 1.0 s)")
    parser.add_argument("--quick", action="store_true", help="0.05 s per case (a smoke run)")
    args = parser.parse_args()
    main(0.05 if args.quick else args.seconds)
