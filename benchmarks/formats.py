"""Every format's parse + validate throughput in one table, beside a plain ``bytes.split`` floor.

Discovers ``benchmarks/formats_*.py`` modules; each exposes ``cases() -> list[(name, bytes, fn)]``.
Run: ``.venv/bin/python benchmarks/formats.py [--quick] [seconds per case] [format ...]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

Case = tuple[str, bytes, Callable[[bytes], object]]


def modules(only: set[str] | None = None) -> list[tuple[str, ModuleType]]:
    """The formats_* benchmark modules, by format name."""
    found = []
    for path in sorted(HERE.glob("formats_*.py")):
        fmt = path.stem.removeprefix("formats_")
        if only and fmt not in only:
            continue
        spec = importlib.util.spec_from_file_location(f"benchmarks_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.append((fmt, module))
    return found


def rate(fn: Callable[[bytes], object], data: bytes, seconds: float) -> float:
    """Calls per second of fn(data) over about `seconds`."""
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn(data)
        n += 1
    return n / elapsed


def floor(data: bytes) -> object:
    """The cheapest tokenization of the same bytes: split on line ends, then on spaces."""
    return [line.split() for line in data.split(b"\n")]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seconds", nargs="?", type=float, default=0.5, help="time per case (default 0.5 s)")
    parser.add_argument("formats", nargs="*", help="only these formats (b2mml, edifact, sap, x12)")
    parser.add_argument("--quick", action="store_true", help="0.02 s per case (a smoke run)")
    args = parser.parse_args(argv)
    seconds = 0.02 if args.quick else args.seconds
    only = set(args.formats) or None
    print(f"{'format':8} {'case':40} {'bytes':>8} {'docs/s':>10} {'MB/s':>8} {'split docs/s':>13} "
          f"{'split MB/s':>10}")
    for fmt, module in modules(only):
        cases: list[Case] = module.cases()
        for name, data, fn in cases:
            ours, base = rate(fn, data, seconds), rate(floor, data, seconds / 4)
            mb = len(data) / 1e6
            print(f"{fmt:8} {name[:40]:40} {len(data):>8} {ours:>10.0f} {ours * mb:>8.2f} {base:>13.0f} "
                  f"{base * mb:>10.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
