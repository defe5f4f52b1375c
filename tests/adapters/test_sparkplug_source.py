"""The Sparkplug B source through Mosquitto: births, data, a seq gap answered by a rebirth NCMD."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiomqtt
from adapter_fakes import T0, SqliteIntake, nbirth, ndata, until
from test_sparkplug_translate import FILLER

from plantwire.adapters.sparkplug import sparkplug_b_pb2 as pb
from plantwire.adapters.sparkplug.client import BrokerSettings
from plantwire.adapters.sparkplug.rules import SparkplugMapping
from plantwire.adapters.sparkplug.source import SparkplugSource


def test_edge_node_through_the_broker(broker_port: int, tmp_path: Path) -> None:
    group = f"G{uuid.uuid4().hex[:8]}"
    intake = SqliteIntake(tmp_path / "intake.db")
    source = SparkplugSource(BrokerSettings(port=broker_port, client_id=f"{group}-host"),
                             SparkplugMapping(groups=(group,), rules=((f"{group}/Filler1", FILLER),)), intake)
    topic = f"spBv1.0/{group}/{{}}/Filler1"

    async def main() -> list[pb.Payload]:
        task = asyncio.create_task(source.run())
        await asyncio.wait_for(source.subscribed.wait(), 10)
        commands: list[pb.Payload] = []
        async with aiomqtt.Client("127.0.0.1", broker_port) as edge:
            await edge.subscribe(topic.format("NCMD"), qos=0)

            async def listen() -> None:
                async for message in edge.messages:
                    commands.append(pb.Payload.FromString(bytes(message.payload)))  # type: ignore[arg-type]

            listener = asyncio.create_task(listen())
            await edge.publish(topic.format("NBIRTH"), nbirth(bd_seq=0), qos=0)
            await edge.publish(topic.format("NDATA"), ndata(1, T0 + 1000, a4=103), qos=0)
            await edge.publish(topic.format("NDATA"), ndata(5, T0 + 2000, a4=105), qos=0)  # gap
            await until(lambda: len(commands) == 1)
            await edge.publish(topic.format("NBIRTH"), nbirth(bd_seq=0, good=106, ts=T0 + 3000), qos=0)
            await edge.publish(topic.format("NDATA"), b"\x08garbage", qos=0)
            await until(lambda: intake.count() == 3 and source.quarantine.count == 1 and len(commands) == 2)
            listener.cancel()
        task.cancel()
        return commands

    commands = asyncio.run(main())  # one for the seq gap, one for the unreadable NDATA after the rebirth
    for command in commands:
        assert [(m.name, m.boolean_value) for m in command.metrics] == [("Node Control/Rebirth", True)]
    assert [e["data"]["yield_quantity"]["value"] for e in intake.events()] == ["3", "2", "1"]
    assert source.quarantine.items[0].issues[0]["rule"] == "sparkplug-protobuf"
    assert [r.reason.split(":")[0] for r in source.rebirths] == ["seq gap", "unreadable payload"]
