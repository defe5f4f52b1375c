"""The OPC UA source against an asyncua server the test runs: a counter and an order-complete flag."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

from adapter_fakes import SqliteIntake, until
from asyncua import ua
from asyncua.server.server import Server

from plantwire.adapters._rules import RuleSet, Tag, goods_completed, order_completed
from plantwire.adapters.opcua.rules import OpcUaMapping, OpcUaSettings
from plantwire.adapters.opcua.sink import OpcUaSink
from plantwire.adapters.opcua.source import OpcUaSource
from plantwire.domain.production import ProductionGoodsCompleted
from plantwire.ports import Command

logging.getLogger("asyncua").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_counter_and_state_changes_become_events(tmp_path: Path) -> None:
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/plantwire/"
    intake = SqliteIntake(tmp_path / "intake.db")

    async def main() -> None:
        server = Server()
        await server.init()
        server.set_endpoint(endpoint)
        idx = await server.register_namespace("urn:plantwire:test")
        press = await server.nodes.objects.add_object(idx, "Press7")
        good = await press.add_variable(ua.NodeId("Press7.Good", idx), "Good",
                                        ua.Variant(100, ua.VariantType.UInt32))
        order = await press.add_variable(ua.NodeId("Press7.Order", idx), "Order", "1000042")
        done = await press.add_variable(ua.NodeId("Press7.Done", idx), "Done", False)
        await order.set_writable()
        keep = dict(order=Tag("Order"), item="FG-PUMP-100", plant="1000", storage_location="FG01")
        mapping = OpcUaMapping("opcua/plant-1000/press-7", "press-7",
                               {"Good": f"ns={idx};s=Press7.Good", "Order": f"ns={idx};s=Press7.Order",
                                "Done": f"ns={idx};s=Press7.Done"},
                               RuleSet((goods_completed("Good", **keep), order_completed("Done", **keep))))
        settings = OpcUaSettings(endpoint, publishing_interval_ms=20, idle_check_s=0.5)
        source = OpcUaSource(settings, mapping, intake)
        async with server:
            task = asyncio.create_task(source.run())
            await until(lambda: source.tags.get("Good") == 100 and "Done" in source.tags)
            for value in (101, 103, 106):
                await good.write_value(ua.Variant(value, ua.VariantType.UInt32))
                await until(lambda v=value: source.tags.get("Good") == v)  # type: ignore[misc]
            await done.write_value(True)
            await until(lambda: intake.count() == 4)
            await asyncio.to_thread(OpcUaSink(settings, mapping).execute, "k1",
                                    Command("press-7", "write", {"tag": "Order", "value": "1000043"}))
            assert await order.read_value() == "1000043"
            task.cancel()

    asyncio.run(main())
    events = intake.events()
    assert [e["data"]["yield_quantity"]["value"] for e in events] == ["1", "2", "3", "0"]
    assert events[-1]["data"]["final"] is True
    for event in events:
        ProductionGoodsCompleted.model_validate(event["data"])
        assert event["source"] == "opcua/plant-1000/press-7" and event["id"].startswith("press-7/")
