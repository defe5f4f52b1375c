"""MQTT JSON mapping: declared fields and templates, and clear errors naming topic and field."""

from __future__ import annotations

import json

import pytest

from plantwire.adapters.mqtt.rules import MqttMapping, TopicMapping
from plantwire.adapters.mqtt.translate import command_message, route_for, to_event, topic_matches
from plantwire.domain.production import ProductionGoodsCompleted
from plantwire.errors import InvalidEvent
from plantwire.ports import Command

COMPLETION = TopicMapping(
    topic="plant/+/line/+/good", event_type="production.goods.completed",
    source="mes/plant-{topic[1]}/line-{topic[3]}", id="{order}/{seq}",
    fields={"order_id": "order", "item_id": "item", "completion_id": "{order}-{seq}",
            "yield_quantity.value": "good", "storage_location": "location", "completed_at": "ts",
            "lot": "lots[0].id"},
    constants={"plant": "1000", "yield_quantity.uom": "EA"}, optional=frozenset({"lot"}), time="ts",
    plant="{topic[1]}")
MAPPING = MqttMapping([COMPLETION])
TOPIC = "plant/1000/line/L1/good"


def body(**over: object) -> bytes:
    doc: dict[str, object] = {"order": "1000042", "seq": 17, "item": "FG-PUMP-100", "good": 2.5,
                              "location": "FG01", "ts": "2026-11-27T06:00:00+00:00"}
    doc.update(over)
    return json.dumps(doc).encode()


def test_a_message_maps_to_a_valid_completion_with_a_deterministic_identity() -> None:
    event = to_event(route_for(MAPPING, TOPIC), TOPIC, body(lots=[{"id": "L1"}]))
    assert (event["source"], event["id"], event["plant"]) == ("mes/plant-1000/line-L1", "1000042/17", "1000")
    assert event["data"]["yield_quantity"] == {"value": "2.5", "uom": "EA"}
    assert event["data"]["completion_id"] == "1000042-17"
    assert event["data"]["lot"] == "L1" and event["time"] == "2026-11-27T06:00:00+00:00"
    ProductionGoodsCompleted.model_validate(event["data"])
    assert to_event(COMPLETION, TOPIC, body(lots=[{"id": "L1"}])) == event


def test_every_missing_field_is_named_with_the_topic() -> None:
    with pytest.raises(InvalidEvent) as caught:
        to_event(COMPLETION, TOPIC, json.dumps({"seq": 1, "ts": "2026-11-27T06:00:00"}).encode())
    paths = {i.path for i in caught.value.issues}
    assert {f"{TOPIC} $.order", f"{TOPIC} $.item", f"{TOPIC} $.good", f"{TOPIC} $.ts"} <= paths
    assert f"{TOPIC} $.lots[0].id" not in paths  # optional


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b""])
def test_bad_json_names_the_topic(raw: bytes) -> None:
    with pytest.raises(InvalidEvent) as caught:
        to_event(COMPLETION, TOPIC, raw)
    assert caught.value.issues[0].path == TOPIC and caught.value.issues[0].rule == "mqtt-json"


def test_unmapped_topics_and_filters() -> None:
    with pytest.raises(InvalidEvent, match="no mapping"):
        route_for(MAPPING, "plant/1000/other")
    assert topic_matches("a/+/c/#", "a/b/c/d/e") and topic_matches("a/#", "a")
    assert not topic_matches("a/+", "a/b/c") and not topic_matches("a/b", "a/c")


def test_commands_carry_the_key() -> None:
    topic, raw = command_message("plant/{plant}/orders/{order_id}/release", "k-1",
                                 Command("mes", "release_order", {"plant": "1000", "order_id": "42"}))
    assert topic == "plant/1000/orders/42/release" and json.loads(raw)["idempotency_key"] == "k-1"
    with pytest.raises(InvalidEvent):
        command_message("plant/{plant}/x", "k", Command("mes", "x", {}))
