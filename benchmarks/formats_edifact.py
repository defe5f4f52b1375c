"""EDIFACT parse + validate throughput on the corpus, beside a plain bytes.split tokenization.

`cases()` is discovered by benchmarks/formats.py; `python benchmarks/formats_edifact.py` prints alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from plantwire.adapters.edifact.envelope import read_interchange
from plantwire.adapters.edifact.translate import Partner, to_event
from plantwire.domain.catalog import CATALOG
from plantwire.service.validation import validate_event

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "edifact"
PARTNER = Partner(plant="1000", currency="EUR")


def parse_and_validate(data: bytes) -> object:
    """Read the interchange, check its envelope, map and validate every message that has a contract."""
    ic = read_interchange(data)
    out = []
    for msg in ic.messages:
        try:
            event = to_event(ic, msg, PARTNER)
        except Exception:  # noqa: BLE001 - a located mapping issue still counts as parsed work
            continue
        if event is not None:
            out.append(validate_event(event, CATALOG))
    return ic, out


def cases() -> list[tuple[str, bytes, Callable[[bytes], object]]]:
    """(name, document bytes, parse+validate) for every corpus interchange."""
    files = sorted(p for p in CORPUS.rglob("*")
                   if p.suffix in (".edi", ".txt") and "definitions" not in p.parts)
    return [(f"edifact/{p.relative_to(CORPUS).as_posix()}", p.read_bytes(), parse_and_validate)
            for p in files]


def _rate(fn: Callable[[bytes], object], docs: list[bytes], seconds: float = 1.0) -> tuple[float, float]:
    size = sum(len(d) for d in docs)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for d in docs:
            fn(d)
        n += 1
    elapsed = time.perf_counter() - start
    return n * len(docs) / elapsed, n * size / elapsed / 1e6


def floor(data: bytes) -> object:
    """The floor: split into segments and elements, no release handling, no checks."""
    return [s.split(b"+") for s in data.split(b"'")]


def main(seconds: float = 1.0) -> None:
    """Print documents/s and MB/s over all files, and the split floor."""
    docs = [data for _, data, _ in cases()]
    ours = _rate(parse_and_validate, docs, seconds)
    base = _rate(floor, docs, seconds)
    print(f"edifact parse+validate: {ours[0]:10.0f} documents/s {ours[1]:8.2f} MB/s ({len(docs)} files)")
    print(f"bytes.split floor:      {base[0]:10.0f} documents/s {base[1]:8.2f} MB/s")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case (default 1.0 s)")
    parser.add_argument("--quick", action="store_true", help="0.05 s per case (a smoke run)")
    args = parser.parse_args()
    main(0.05 if args.quick else args.seconds)
