"""The MQTT JSON source against a real Mosquitto: acknowledged after the intake, nothing lost on a restart."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import aiomqtt
from adapter_fakes import PrivateBroker, SqliteIntake, until

from plantwire.adapters.mqtt.client import BrokerSettings
from plantwire.adapters.mqtt.rules import CommandRoute, MqttMapping, TopicMapping
from plantwire.adapters.mqtt.sink import MqttSink
from plantwire.adapters.mqtt.source import MqttJsonSource
from plantwire.ports import Command


def mapping(prefix: str) -> MqttMapping:
    return MqttMapping([TopicMapping(
        topic=f"{prefix}/plant/+/good", event_type="production.goods.completed",
        source="mes/plant-{topic[2]}", id="{order}/{seq}",
        fields={"order_id": "order", "item_id": "item", "completion_id": "{order}-{seq}",
                "yield_quantity.value": "good", "storage_location": "location", "completed_at": "ts"},
        constants={"plant": "1000", "yield_quantity.uom": "EA"}, time="ts")])


def body(seq: int) -> bytes:
    return json.dumps({"order": "1000042", "seq": seq, "item": "FG-1", "good": 1, "location": "FG01",
                       "ts": "2026-11-27T06:00:00+00:00"}).encode()


def test_messages_reach_the_intake_and_bad_ones_are_quarantined(broker_port: int, tmp_path: Path) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    intake = SqliteIntake(tmp_path / "intake.db")
    source = MqttJsonSource(BrokerSettings(port=broker_port, client_id=f"{prefix}-src"), mapping(prefix),
                            intake)

    async def main() -> None:
        task = asyncio.create_task(source.run())
        await asyncio.wait_for(source.subscribed.wait(), 10)
        async with aiomqtt.Client("127.0.0.1", broker_port) as pub:
            for seq in range(20):
                await pub.publish(f"{prefix}/plant/1000/good", body(seq), qos=1)
            await pub.publish(f"{prefix}/plant/1000/good", b"{broken", qos=1)
            await pub.publish(f"{prefix}/plant/1000/good", json.dumps({"seq": 1}).encode(), qos=1)
            await pub.publish(f"{prefix}/plant/1000/good", body(3), qos=1)  # a resend: same identity
        await until(lambda: source.received == 23)
        task.cancel()

    asyncio.run(main())
    assert intake.count() == 20
    assert source.quarantine.count == 2
    first, second = source.quarantine.items
    assert first.where == f"{prefix}/plant/1000/good" and first.issues[0]["rule"] == "mqtt-json"
    assert {i["path"] for i in second.issues} >= {f"{prefix}/plant/1000/good $.order"}


def test_messages_wait_in_the_session_while_the_source_is_away(broker_port: int, tmp_path: Path) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    intake = SqliteIntake(tmp_path / "intake.db")
    settings = BrokerSettings(port=broker_port, client_id=f"{prefix}-src")

    async def main() -> None:
        first = MqttJsonSource(settings, mapping(prefix), intake)
        task = asyncio.create_task(first.run())
        await asyncio.wait_for(first.subscribed.wait(), 10)
        task.cancel()
        async with aiomqtt.Client("127.0.0.1", broker_port) as pub:
            for seq in range(10):
                await pub.publish(f"{prefix}/plant/1000/good", body(seq), qos=1)
        second = MqttJsonSource(settings, mapping(prefix), intake)
        task = asyncio.create_task(second.run())
        await until(lambda: intake.count() == 10)
        task.cancel()

    asyncio.run(main())


def test_a_broker_restart_during_publishing_loses_nothing_acknowledged(
        private_broker: PrivateBroker, tmp_path: Path) -> None:
    """Restart (SIGTERM, start again) a Mosquitto of the test's own mid-stream; every publish the
    broker acknowledged must reach the intake. A private broker, so parallel tests are not hit."""
    port, total = private_broker.port, 400
    intake = SqliteIntake(tmp_path / "intake.db")
    source = MqttJsonSource(BrokerSettings(port=port, client_id="restart-src", timeout=3), mapping("r"),
                            intake, batch_size=20)
    acknowledged: set[int] = set()

    async def publish_all() -> None:
        seq = 0
        while seq < total:
            try:
                async with aiomqtt.Client("127.0.0.1", port, timeout=2) as pub:
                    while seq < total:
                        await pub.publish("r/plant/1000/good", body(seq), qos=1)
                        acknowledged.add(seq)
                        seq += 1
                        if seq == total // 3:
                            restarter = asyncio.create_task(asyncio.to_thread(private_broker.restart))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)  # broker away: publish `seq` again once it is back
        await restarter

    async def main() -> None:
        task = asyncio.create_task(source.run())
        await asyncio.wait_for(source.subscribed.wait(), 10)
        await publish_all()
        await until(lambda: intake.count() >= total, 30)
        task.cancel()

    asyncio.run(main())
    assert private_broker.restarts == 1
    kept = {int(e["id"].split("/")[1]) for e in intake.events()}
    assert acknowledged <= kept and len(acknowledged) == total
    assert intake.count() == total  # distinct identities: redeliveries were harmless


def test_the_sink_publishes_commands_with_the_key(broker_port: int) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    sink = MqttSink(BrokerSettings(port=broker_port, client_id=f"{prefix}-sink"),
                    {"release_order": CommandRoute(prefix + "/orders/{order_id}/release")})

    async def main() -> dict[str, object]:
        async with aiomqtt.Client("127.0.0.1", broker_port) as sub:
            await sub.subscribe(f"{prefix}/orders/#", qos=1)
            result = await asyncio.to_thread(sink.execute, "key-1",
                                             Command("mes", "release_order", {"order_id": "42"}))
            assert result == {"topic": f"{prefix}/orders/42/release"}
            message = await asyncio.wait_for(anext(aiter(sub.messages)), 10)
            return dict(json.loads(bytes(message.payload)))  # type: ignore[arg-type]

    assert asyncio.run(main()) == {"idempotency_key": "key-1", "command": "release_order", "order_id": "42"}
