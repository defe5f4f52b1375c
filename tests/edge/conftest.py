"""Fixtures for the edge tests: an outbox on a temporary file, and events built from plant_day."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plantwire.clocks import ManualClock
from plantwire.domain.catalog import CATALOG
from plantwire.edge.intake import EdgeIntake
from plantwire.edge.outbox import Outbox
from plantwire.simulators.scenario import event, plant_day


def hold(n: int, plant: str = "1000") -> dict[str, Any]:
    """A quality hold: high priority by the default rules."""
    from datetime import UTC, datetime

    return event(f"qms/plant-{plant}", f"QH-X{n}", "quality.hold.placed",
                 {"hold_id": f"QH-X{n}", "plant": plant, "item_id": "FG-PUMP-100", "lot": f"L{n}",
                  "reason_code": "VISUAL", "reason": "scratches",
                  "placed_at": "2026-11-27T09:00:00+00:00"}, datetime(2026, 11, 27, 9, tzinfo=UTC), plant)


@pytest.fixture
def day() -> list[dict[str, Any]]:
    """About 500 realistic events."""
    return list(plant_day("1000", 50))


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


@pytest.fixture
def intake(outbox: Outbox) -> EdgeIntake:
    return EdgeIntake(outbox, CATALOG, ManualClock())
