"""The shared counter and flag rules: pure, deterministic, and producing valid canonical data."""

from __future__ import annotations

from typing import Any

from plantwire.adapters._rules import (
    Change,
    RuleSet,
    Scope,
    Tag,
    apply_changes,
    component_consumed,
    goods_completed,
    order_completed,
)
from plantwire.domain.production import ComponentConsumed, ProductionGoodsCompleted

RULES = RuleSet((
    goods_completed("Good", order=Tag("Order"), item=Tag("Item"), plant="1000", storage_location="FG01"),
    order_completed("Done", order=Tag("Order"), item=Tag("Item"), plant="1000", storage_location="FG01"),
    component_consumed("Resin", order=Tag("Order"), item="RM-RESIN", plant="1000", storage_location="RM01",
                       uom="KG"),
))
SCOPE = Scope("sparkplug/G/N", "G/N")
T = 1_800_000_000_000


def run(tags: dict[str, Any], *changes: tuple[str, Any, int]) -> Any:
    return apply_changes(RULES, tags, [Change(n, v, t) for n, v, t in changes], SCOPE)


def test_a_counter_increase_becomes_a_partial_completion_with_the_delta() -> None:
    tags: dict[str, Any] = {}
    first = run(tags, ("Order", "1000042", T), ("Item", "FG-PUMP-100", T), ("Good", 100, T))
    assert first.events == [] and first.issues == []
    out = run(tags, ("Good", 103, T + 1000))
    [event] = out.events
    assert event["type"] == "production.goods.completed"
    assert event["source"] == "sparkplug/G/N" and event["id"] == f"G/N/Good/{T + 1000}/103"
    assert event["data"]["yield_quantity"] == {"value": "3", "uom": "EA"}
    assert event["plant"] == "1000" and event["time"].startswith("2027-01-15T")
    ProductionGoodsCompleted.model_validate(event["data"])


def test_same_signal_gives_the_same_identity_and_a_repeat_gives_nothing() -> None:
    a: dict[str, Any] = {"Order": "1", "Item": "X", "Good": 1}
    b: dict[str, Any] = {"Order": "1", "Item": "X", "Good": 1}
    assert run(a, ("Good", 5, T)).events == run(b, ("Good", 5, T)).events
    assert run(a, ("Good", 5, T)).events == []


def test_a_counter_reset_only_sets_a_new_baseline() -> None:
    tags: dict[str, Any] = {"Order": "1", "Item": "X", "Good": 500}
    assert run(tags, ("Good", 2, T)).events == []
    assert run(tags, ("Good", 4, T + 1)).events[0]["data"]["yield_quantity"]["value"] == "2"


def test_a_rising_flag_is_the_final_completion_and_a_falling_one_is_nothing() -> None:
    tags: dict[str, Any] = {"Order": "1000042", "Item": "X", "Done": False}
    [event] = run(tags, ("Done", True, T)).events
    assert event["data"]["final"] is True and event["data"]["yield_quantity"]["value"] == "0"
    ProductionGoodsCompleted.model_validate(event["data"])
    assert run(tags, ("Done", False, T + 1)).events == []


def test_material_counter_becomes_consumption_in_its_unit() -> None:
    tags: dict[str, Any] = {"Order": "7", "Resin": 10.5}
    [event] = run(tags, ("Resin", 12.75, T)).events
    assert event["type"] == "production.component.consumed"
    assert event["data"]["quantity"] == {"value": "2.25", "uom": "KG"}
    ComponentConsumed.model_validate(event["data"])


def test_references_see_the_values_after_the_whole_batch() -> None:
    tags: dict[str, Any] = {"Order": "A", "Item": "X", "Good": 0}
    [event] = run(tags, ("Good", 1, T), ("Order", "B", T)).events
    assert event["data"]["order_id"] == "B"


def test_a_missing_reference_is_an_issue_naming_rule_and_tag() -> None:
    tags: dict[str, Any] = {"Good": 1}
    out = run(tags, ("Good", 2, T))
    assert out.events == []
    [issue] = out.issues
    assert issue.rule == "missing-tag" and "'Order'" in issue.message and issue.path.endswith("#Good")


def test_a_non_numeric_counter_is_an_issue() -> None:
    out = run({"Good": 1}, ("Good", "lots", T))
    assert [i.rule for i in out.issues] == ["counter-not-numeric"]


def test_long_ids_are_cut_to_a_business_id_with_a_hash() -> None:
    scope = Scope("s", "G" * 80)
    tags: dict[str, Any] = {"Order": "1", "Item": "X", "Good": 1}
    [event] = apply_changes(RULES, tags, [Change("Good", 2, T)], scope).events
    assert len(event["data"]["completion_id"]) == 64 and "~" in event["data"]["completion_id"]
