"""Fuzz tests: the `fuzz` marker (they run in the normal suite, bounded), and the figures file."""

from __future__ import annotations

from typing import Any

import pytest
from fuzz_harness import write_figures


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "fuzz: hypothesis fuzzing of a parse entry point or route (bounded "
                                       "by PLANTWIRE_FUZZ_EXAMPLES; scripts/fuzz runs long campaigns)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fuzz/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.fuzz)


def pytest_sessionfinish(session: Any) -> None:
    write_figures()
