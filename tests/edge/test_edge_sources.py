"""The edge's declared sources: the config file parsed purely, and a real `plantwire edge --config F`
reading a real Mosquitto (MQTT JSON and Sparkplug B) and an asyncua server, forwarding to a real hub."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from asyncua import ua
from asyncua.server.server import Server

from plantwire.adapters._common import Quarantine
from plantwire.adapters._mqtt import BrokerSettings
from plantwire.adapters._rules import RuleSet, Tag, component_consumed, goods_completed, order_completed
from plantwire.adapters.mqtt.rules import TopicMapping
from plantwire.adapters.sparkplug import sparkplug_b_pb2 as pb
from plantwire.clocks import SystemClock
from plantwire.edge import sources as sources_module
from plantwire.edge.config import (
    EdgeConfig,
    MqttSourceConfig,
    OpcUaSourceConfig,
    SparkplugSourceConfig,
    load_config,
    parse_config,
)
from plantwire.edge.settings import HIGH, LOW
from plantwire.edge.sources import Sources
from plantwire.errors import ConfigurationError

from .procs import Edge, Hub, cli, free_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "edge.md"
MOSQUITTO_CONF = "/etc/mosquitto/mosquitto.conf"


# -- the config file, parsed purely -----------------------------------------------------------------

def docs_example() -> str:
    """The full example config in docs/edge.md (the first toml block of its Sources section)."""
    text = DOCS.read_text()
    section = text[text.index("## Sources: `--config FILE`"):]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_the_documented_example_parses_into_the_adapters_own_dataclasses() -> None:
    config = parse_config(docs_example(), "edge.toml")
    mqtt, spb, opcua = config.sources
    assert isinstance(mqtt, MqttSourceConfig) and mqtt.priority is not None
    assert mqtt.broker == BrokerSettings("127.0.0.1", 1883, "plantwire-edge-line1")
    assert tuple(mqtt.mapping.topics) == (TopicMapping(
        topic="plant/+/line/+/completion", event_type="production.goods.completed",
        source="mes/plant-{topic[1]}/line-{topic[3]}", id="{order}/{seq}",
        fields={"order_id": "order", "item_id": "item", "completion_id": "{order}-{seq}",
                "yield_quantity.value": "good", "storage_location": "location", "completed_at": "ts",
                "lot": "lot"},
        constants={"plant": "1000", "yield_quantity.uom": "EA"}, optional=frozenset({"lot"}), time="ts",
        plant="{topic[1]}"),)
    assert isinstance(spb, SparkplugSourceConfig) and spb.name == "fillers" and spb.priority is None
    assert spb.mapping.groups == ("Plant1000",) and spb.mapping.filters() == ["spBv1.0/Plant1000/#"]
    keep = dict(order=Tag("Order/Id"), item=Tag("Order/Item"), plant="1000", storage_location="FG01")
    assert spb.mapping.rules_for("Plant1000", "Filler2", None) == RuleSet((
        goods_completed("Counters/Good", **keep), order_completed("Order/Complete", **keep)))
    assert spb.mapping.rules_for("Plant1000", "Filler2", "Doser1") == RuleSet((component_consumed(
        "Counters/Resin", order=Tag("Order/Id"), item="RM-RESIN", plant="1000", storage_location="RM01",
        uom="KG"),))
    assert isinstance(opcua, OpcUaSourceConfig) and opcua.priority == LOW
    assert opcua.settings.endpoint == "opc.tcp://10.1.7.20:4840/"
    assert opcua.settings.publishing_interval_ms == 100
    assert (opcua.mapping.source, opcua.mapping.key) == ("opcua/plant-1000/press-7", "press-7")
    assert opcua.mapping.nodes["Counters/Good"] == "ns=2;s=Press7.GoodParts"
    assert opcua.mapping.rules == RuleSet((goods_completed("Counters/Good", **keep),
                                           order_completed("Order/Complete", **keep)))


def test_the_mqtt_mapping_is_exactly_the_declared_one() -> None:
    [mqtt] = parse_config(docs_example(), "edge.toml").sources[:1]
    assert isinstance(mqtt, MqttSourceConfig)
    [route] = mqtt.mapping.topics
    assert route.fields["yield_quantity.value"] == "good" and route.optional == frozenset({"lot"})
    assert route.constants == {"plant": "1000", "yield_quantity.uom": "EA"}


def test_defaults_and_password_from_the_environment() -> None:
    text = """
[[mqtt]]
password_env = "EDGE_MQTT_PW"
username = "edge"
priority = "high"
[[mqtt.topics]]
topic = "a/#"
event_type = "production.goods.completed"
source = "s"
id = "{id}"
fields = { order_id = "order" }
[[opcua]]
endpoint = "opc.tcp://127.0.0.1:4840"
nodes = { Good = "ns=2;i=7" }
"""
    config = parse_config(text, "e.toml", {"EDGE_MQTT_PW": "s3cret"})
    mqtt, opcua = config.sources
    assert isinstance(mqtt, MqttSourceConfig) and isinstance(opcua, OpcUaSourceConfig)
    assert (mqtt.name, mqtt.broker.client_id, mqtt.broker.password, mqtt.priority) == (
        "mqtt-1", "plantwire-edge-mqtt-1", "s3cret", HIGH)
    assert (opcua.name, opcua.mapping.source, opcua.mapping.key) == ("opcua-1", "opcua/opcua-1", "opcua-1")
    assert opcua.mapping.rules == RuleSet()
    assert parse_config("", "empty.toml") == EdgeConfig((), "empty.toml")


MQTT = """
[[mqtt]]
name = "line1"
{extra}
[[mqtt.topics]]
topic = "{topic}"
event_type = "{event_type}"
source = "s"
id = "{{id}}"
[mqtt.topics.fields]
order_id = "order"
"""
OPCUA = """
[[opcua]]
name = "press"
endpoint = "opc.tcp://127.0.0.1:4840"
[opcua.nodes]
Good = "{node}"
Order = "ns=2;s=Order"
[[opcua.rules]]
kind = "{kind}"
{trigger} = "{tag}"
order = {order}
item = "FG-1"
plant = "1000"
storage_location = "FG01"
"""


def mqtt(extra: str = "", topic: str = "a/+/b", event_type: str = "production.goods.completed") -> str:
    return MQTT.format(extra=extra, topic=topic, event_type=event_type)


def opcua(node: str = "ns=2;s=Good", kind: str = "goods_completed", trigger: str = "counter",
          tag: str = "Good", order: str = '{ tag = "Order" }') -> str:
    return OPCUA.format(node=node, kind=kind, trigger=trigger, tag=tag, order=order)


BAD = {
    "toml syntax": ("[[mqtt]\nname = 1", ["not valid TOML", "line 1"]),
    "unknown kind": ("[[modbus]]\nhost = 'x'", ["top-level key 'modbus'", "[[sparkplug]]"]),
    "not an array": ("[mqtt]\nhost = 'x'", ["'mqtt' must be an array of tables", "[[mqtt]]"]),
    "typo in a key": (mqtt('hots = "broker"'), ["[[mqtt]] #1 ('line1')", "key 'hots'", "not a known key"]),
    "wrong type": (mqtt("port = \"1883\""), ["[[mqtt]] #1 ('line1')", "key 'port'", "must be an integer"]),
    "bool for a port": (mqtt("port = true"), ["key 'port'", "must be an integer"]),
    "bad port": (mqtt("port = 70000"), ["key 'port'", "not a TCP port"]),
    "bad priority": (mqtt('priority = "urgent"'), ["key 'priority'", "high, normal, low"]),
    "password twice": (mqtt('password = "a"\npassword_env = "B"'), ["key 'password_env'", "not both"]),
    "password env unset": (mqtt('password_env = "NOPE_NOT_SET"'), ["key 'password_env'", "NOPE_NOT_SET"]),
    "bad filter": (mqtt(topic="a/#/b"), ["> topics #1", "key 'topic'", "not an MQTT topic filter"]),
    "unknown event type": (mqtt(event_type="production.goods.complete"),
                           ["> topics #1", "key 'event_type'", "not in the contract catalog"]),
    "no topics": ('[[mqtt]]\nname = "x"', ["[[mqtt]] #1 ('x')", "key 'topics'", "is required"]),
    "missing id": (mqtt().replace('id = "{id}"\n', ""), ["> topics #1", "key 'id'", "is required"]),
    "duplicate names": (mqtt() + mqtt('client_id = "other"'), ["key 'name'", "another source"]),
    "one client id twice": (mqtt('client_id = "c"') + mqtt('client_id = "c"').replace('"line1"', '"line2"'),
                            ["[[mqtt]] 'line2', key 'client_id'", "'c' is already", "own session"]),
    "rule tag not mapped": (opcua(tag="Gud"),
                            ["[[opcua]] #1 ('press') > rules #1", "key 'counter'", "'Gud' is not in"]),
    "field tag not mapped": (opcua(order='{ tag = "Ordr" }'), ["> rules #1", "key 'order'", "'Ordr'"]),
    "bad field table": (opcua(order='{ name = "Order" }'), ["key 'order'", "{tag = \"Tag/Name\"}"]),
    "float field": (opcua(order="1.5"), ["key 'order'", "must be a string or an integer"]),
    "unknown rule kind": (opcua(kind="scrap_reported"), ["key 'kind'", "goods_completed"]),
    "flag rule with counter key": (opcua(kind="order_completed"), ["> rules #1", "key 'flag'", "required"]),
    "bad node id": (opcua(node="Press7.Good"), ["key 'nodes'", "not an OPC UA node id"]),
    "bad endpoint": (opcua().replace("opc.tcp://", "http://"), ["key 'endpoint'", "opc.tcp://"]),
    "sparkplug node pattern": ('[[sparkplug]]\n[[sparkplug.nodes]]\nmatch = "Filler1"\n'
                               '[[sparkplug.nodes.rules]]\nkind = "order_completed"',
                               ["[[sparkplug]] #1 ('sparkplug-1') > nodes #1", "key 'match'"]),
    "sparkplug group": ('[[sparkplug]]\ngroups = ["Plant/1"]', ["key 'groups'", "one group id"]),
    "sparkplug rule without fields": (
        '[[sparkplug]]\n[[sparkplug.nodes]]\nmatch = "G/N"\n[[sparkplug.nodes.rules]]\n'
        'kind = "goods_completed"\ncounter = "Good"',
        ["> nodes #1 > rules #1", "key 'order'", "is required"]),
    "lot on a flag rule": (opcua(kind="order_completed", trigger="flag") + 'lot = "L1"',
                           ["> rules #1", "key 'lot'", "not a known key"]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_config_names_the_file_the_table_and_the_key(name: str) -> None:
    text, expected = BAD[name]
    with pytest.raises(ConfigurationError) as caught:
        parse_config(text, "plant.toml", {})
    message = str(caught.value)
    assert message.startswith("plant.toml: "), message
    for part in expected:
        assert part in message, (part, message)


def test_an_unreadable_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the config file"):
        load_config(tmp_path / "missing.toml")


# -- supervision, in-process --------------------------------------------------------------------------

def test_a_failing_source_is_restarted_with_backoff_and_stopped_cleanly(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from plantwire.domain.catalog import CATALOG
    from plantwire.edge.intake import EdgeIntake
    from plantwire.edge.outbox import Outbox

    monkeypatch.setattr(sources_module, "backoff", lambda attempt, **_: 0.01 * attempt)
    config = parse_config(opcua(), "t.toml")
    box = Outbox(tmp_path / "outbox.db")
    full: list[int] = []
    sources = Sources(config, lambda p: EdgeIntake(box, CATALOG, SystemClock()), lambda: full.append(1),
                      SystemClock())
    [source] = sources.sources
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError(f"boom {len(runs)}")
        source.adapter.subscribed.set()
        await asyncio.Event().wait()

    source.adapter.run = flaky  # type: ignore[method-assign]

    async def main() -> list[dict[str, Any]]:
        sources.start()
        deadline = time.monotonic() + 10
        while sources.snapshot(time.time())[0]["state"] != "connected":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        snap = sources.snapshot(time.time())
        await sources.stop()
        return snap + sources.snapshot(time.time())

    running, stopped = asyncio.run(main())
    box.close()
    assert running["restarts"] == 2 and running["last_error"] == "RuntimeError: boom 2"
    assert running["kind"] == "opcua" and running["target"] == "opc.tcp://127.0.0.1:4840"
    assert stopped["state"] == "stopped" and not full


def test_quarantined_items_show_with_their_issues() -> None:
    from plantwire.adapters._common import invalid

    config = parse_config(mqtt(), "t.toml")
    sources = Sources(config, lambda p: None, lambda: None, SystemClock())  # type: ignore[arg-type,return-value]
    [source] = sources.sources
    assert isinstance(source.adapter.quarantine, Quarantine)
    source.adapter.quarantine.add("a/1/b", invalid("a/1/b", "mqtt-json", "payload is not JSON"),
                                  b"\xff" + b"x" * 400)
    [item] = source.snapshot(time.time())["quarantined"]["recent"]
    assert item["issues"] == [{"path": "a/1/b", "rule": "mqtt-json", "message": "payload is not JSON"}]
    assert item["payload"].startswith("hex:ff78") and item["payload"].endswith("…")


# -- a real agent, broker, OPC UA server and hub ----------------------------------------------------

def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the MQTT tests must run)")
    pytest.skip(reason)  # only off CI: under CI=true it failed above


@pytest.fixture(scope="session")
def broker_port() -> int:
    """The machine's Mosquitto on 127.0.0.1:1883, started if it is down (as tests/adapters does)."""
    if not reachable(1883):
        if shutil.which("mosquitto") is None:
            unavailable("mosquitto is not installed")
        subprocess.run(["mosquitto", "-d", "-c", MOSQUITTO_CONF], check=False)
        deadline = time.monotonic() + 10
        while not reachable(1883):
            if time.monotonic() > deadline:
                unavailable("Mosquitto on 127.0.0.1:1883 cannot be reached or started")
            time.sleep(0.05)
    return 1883


class Machine:
    """An asyncua server on its own loop thread: a press with a good-parts counter, order and done flag."""

    def __init__(self) -> None:
        self.endpoint = f"opc.tcp://127.0.0.1:{free_port()}/press/"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.nodes: dict[str, Any] = {}
        self.idx = 0

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def start(self) -> None:
        self.thread.start()
        self.call(self._start())

    async def _start(self) -> None:
        self.server = Server()
        await self.server.init()
        self.server.set_endpoint(self.endpoint)
        self.idx = await self.server.register_namespace("urn:plantwire:edge-test")
        press = await self.server.nodes.objects.add_object(self.idx, "Press7")
        self.nodes["Good"] = await press.add_variable(ua.NodeId("Press7.Good", self.idx), "Good",
                                                      ua.Variant(100, ua.VariantType.UInt32))
        self.nodes["Order"] = await press.add_variable(ua.NodeId("Press7.Order", self.idx), "Order",
                                                       "1000042")
        self.nodes["Done"] = await press.add_variable(ua.NodeId("Press7.Done", self.idx), "Done", False)
        await self.server.start()

    async def _cancel_the_rest(self) -> None:
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def write(self, name: str, value: Any) -> None:
        self.call(self.nodes[name].write_value(value))

    def stop(self) -> None:
        self.call(self.server.stop())
        self.call(self._cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def machine() -> Iterator[Machine]:
    import logging

    logging.getLogger("asyncua").setLevel(logging.WARNING)
    m = Machine()
    m.start()
    yield m
    m.stop()


def plant_config(prefix: str, group: str, machine: Machine) -> str:
    ns = machine.idx
    return f"""
[[mqtt]]
name = "line1"
client_id = "{prefix}-mqtt"
priority = "high"
[[mqtt.topics]]
topic = "{prefix}/plant/+/good"
event_type = "production.goods.completed"
source = "mes/{prefix}/plant-{{topic[2]}}"
id = "{{order}}/{{seq}}"
time = "ts"
plant = "{{topic[2]}}"
[mqtt.topics.fields]
order_id = "order"
item_id = "item"
completion_id = "{{order}}-{{seq}}"
"yield_quantity.value" = "good"
storage_location = "location"
completed_at = "ts"
[mqtt.topics.constants]
plant = "1000"
"yield_quantity.uom" = "EA"

[[sparkplug]]
name = "fillers"
client_id = "{prefix}-spb"
groups = ["{group}"]
[[sparkplug.nodes]]
match = "{group}/Filler*"
[[sparkplug.nodes.rules]]
kind = "goods_completed"
counter = "Counters/Good"
order = {{ tag = "Order/Id" }}
item = {{ tag = "Order/Item" }}
plant = "1000"
storage_location = "FG01"

[[opcua]]
name = "press-7"
source = "opcua/{prefix}/press-7"
endpoint = "{machine.endpoint}"
publishing_interval_ms = 20
idle_check_s = 0.5
priority = "low"
[opcua.nodes]
Good = "ns={ns};s=Press7.Good"
Order = "ns={ns};s=Press7.Order"
Done = "ns={ns};s=Press7.Done"
[[opcua.rules]]
kind = "goods_completed"
counter = "Good"
order = {{ tag = "Order" }}
item = "FG-PUMP-100"
plant = "1000"
storage_location = "FG01"
[[opcua.rules]]
kind = "order_completed"
flag = "Done"
order = {{ tag = "Order" }}
item = "FG-PUMP-100"
plant = "1000"
storage_location = "FG01"
"""


def completion(seq: int) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return json.dumps({"order": "1000042", "seq": seq, "item": "FG-PUMP-100", "good": 1,
                       "location": "FG01", "ts": now}).encode()


def spb(seq: int, ts: int, metrics: list[tuple[str | None, int, int, Any]]) -> bytes:
    """A Sparkplug B payload from the Tahu protobuf: metrics as (name, alias, datatype, value)."""
    message = pb.Payload(timestamp=ts, seq=seq)
    for name, alias, datatype, value in metrics:
        m = message.metrics.add(timestamp=ts, datatype=datatype, alias=alias)
        if name is not None:
            m.name = name
        if datatype == pb.String:
            m.string_value = value
        elif datatype == pb.UInt64:
            m.long_value = value
        else:
            m.int_value = value
    return message.SerializeToString()


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    async def main() -> None:
        async with aiomqtt.Client("127.0.0.1", port, identifier=f"pub-{uuid.uuid4().hex[:8]}") as client:
            for topic, payload in messages:
                await client.publish(topic, payload, qos=1)

    asyncio.run(main())


def wait_for(check: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def by_name(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in status["sources"]}


def test_sources_reach_the_outbox_then_the_hub_exactly_once(
        broker_port: int, machine: Machine, tmp_path: Path) -> None:
    prefix, group = f"e{uuid.uuid4().hex[:8]}", f"G{uuid.uuid4().hex[:8]}"
    config = tmp_path / "edge.toml"
    config.write_text(plant_config(prefix, group, machine))
    hub = Hub(tmp_path)  # not started yet: the events must wait in the agent's outbox
    edge = Edge(tmp_path, hub.url, hub.key_file, "--config", str(config))
    edge.start()
    client = httpx.Client(base_url=edge.url, timeout=30)
    try:
        def status() -> dict[str, Any]:
            return dict(client.get("/v1/status").json())

        # all three connected, and the OPC UA baseline (current values) read before the counter moves
        def ready() -> bool:
            st = by_name(status())
            return all(s["state"] == "connected" for s in st.values()) and st["press-7"]["messages"] >= 3

        wait_for(ready, what="sources connected")
        topic = f"{prefix}/plant/1000/good"
        node = f"spBv1.0/{group}/{{}}/Filler1"
        t0 = int(time.time() * 1000)
        publish(broker_port, [(topic, completion(seq)) for seq in range(20)] + [
            (topic, b"{not json"),
            (node.format("NBIRTH"), spb(0, t0, [("bdSeq", 0, pb.UInt64, 0),
                                                ("Order/Id", 2, pb.String, "1000042"),
                                                ("Order/Item", 3, pb.String, "FG-PUMP-100"),
                                                ("Counters/Good", 4, pb.UInt32, 100)])),
            (node.format("NDATA"), spb(1, t0 + 1000, [(None, 4, pb.UInt32, 103)])),
            (node.format("NDATA"), spb(2, t0 + 2000, [(None, 4, pb.UInt32, 105)])),
        ])
        machine.write("Good", ua.Variant(101, ua.VariantType.UInt32))
        wait_for(lambda: by_name(status())["press-7"]["events"]["accepted"] == 1, what="first OPC UA event")
        machine.write("Good", ua.Variant(104, ua.VariantType.UInt32))
        wait_for(lambda: by_name(status())["press-7"]["events"]["accepted"] == 2, what="second OPC UA event")
        machine.write("Done", True)

        # 20 MQTT + 2 Sparkplug + 3 OPC UA events kept in the outbox, the hub still away
        st = wait_for(lambda: (s := status())["backlog"]["total"] == 25
                      and by_name(s)["press-7"]["events"]["accepted"] == 3 and s, what="25 in the outbox")
        sources = by_name(st)
        assert st["link"]["state"] == "down"
        assert sources["line1"]["events"]["accepted"] == 20 and sources["line1"]["messages"] == 21
        assert sources["fillers"]["events"]["accepted"] == 2
        assert sources["fillers"]["quarantined"]["count"] == 0
        assert sources["press-7"]["events"]["accepted"] == 3
        assert st["backlog"]["by_priority"]["high"]["count"] == 20  # the MQTT source's priority
        assert st["backlog"]["by_priority"]["low"]["count"] == 5
        # the malformed payload: quarantined with its issue, in /v1/status and `edge status`
        [bad] = sources["line1"]["quarantined"]["recent"]
        assert sources["line1"]["quarantined"]["count"] == 1
        assert bad["where"] == topic and bad["issues"][0]["rule"] == "mqtt-json"
        assert bad["payload"] == "{not json"
        human = cli("edge", "status", "--data-dir", str(edge.data_dir)).stdout
        assert "line1" in human and "fillers" in human and "press-7" in human
        assert "quarantined line1" in human and "mqtt-json" in human
        assert by_name(edge.status())["line1"]["quarantined"]["count"] == 1  # --json, from the file

        hub.start()
        wait_for(lambda: status()["backlog"]["total"] == 0, 60, "the backlog to drain")
        rows = [r for r in hub.journal() if prefix in r[1] or group in r[1]]
        identities = [(source, event_id) for _, source, event_id, _, _ in rows]
        assert len(identities) == len(set(identities)) == 25  # each exactly once
        events = {(s, i): client.get("/v1/outbox/lookup", params={"source": s, "id": i}).json()
                  for s, i in identities}
        assert all(e["status"] == "acknowledged" for e in events.values())
        assert sum(s.startswith("mes/") for s, _ in identities) == 20
        spb_ids = sorted(i for s, i in identities if s.startswith("sparkplug/"))
        assert spb_ids == [f"{group}/Filler1/Counters/Good/{t0 + 1000}/103",
                           f"{group}/Filler1/Counters/Good/{t0 + 2000}/105"]
        assert sum(s.startswith("opcua/") for s, _ in identities) == 3

        # a clean stop, messages published while the agent is away, and a start that picks them up
        edge.stop()  # uvicorn shuts down gracefully, then exits by the SIGTERM it caught
        assert edge.proc is not None and edge.proc.returncode in (0, -15), edge.log()
        assert "Traceback" not in edge.log() and "edge.source.failed" not in edge.log()
        assert "edge.sources.stopped" in edge.log()
        publish(broker_port, [(topic, completion(seq)) for seq in range(20, 25)]
                + [(topic, completion(3))])  # a resend of a forwarded event
        edge.start()
        wait_for(lambda: len([r for r in hub.journal() if prefix in r[1] and r[1].startswith("mes/")]) == 25,
                 60, "the messages published while the agent was stopped")
        wait_for(lambda: by_name(status())["line1"]["messages"] == 6, what="6 messages after the restart")
        rows = [r for r in hub.journal() if prefix in r[1] or group in r[1]]
        assert len(rows) == len({(r[1], r[2]) for r in rows}) == 30
    finally:
        client.close()
        edge.kill()
        hub.kill()


def test_a_bad_config_file_stops_the_agent_with_the_key_named(tmp_path: Path) -> None:
    bad = tmp_path / "edge.toml"
    bad.write_text(opcua(tag="Counters/Gud"))
    out = cli("edge", "--hub", "http://127.0.0.1:9", "--data-dir", str(tmp_path / "edge"),
              "--config", str(bad), check=False)
    message = " ".join(out.stderr.split())
    assert out.returncode == 1, out
    assert str(bad) in message and "[[opcua]] #1 ('press') > rules #1" in message
    assert "key 'counter'" in message and "'Counters/Gud' is not in the [opcua.nodes] map" in message
    assert not (tmp_path / "edge" / "outbox.db").exists()
