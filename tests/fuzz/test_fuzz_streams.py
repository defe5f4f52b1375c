"""Plant-floor and file sources fuzzed: Sparkplug B protobuf payloads, MQTT JSON payloads, and CSV files
through the real watched-folder source and a real hub (issue #13 items 2 and 3)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_harness import FUZZ, bounded
from fuzz_mutations import MILLION, deep, mutated, mutated_json
from hypothesis import given
from hypothesis import strategies as st

from plantwire.adapters._rules import RuleSet, Tag, component_consumed, goods_completed
from plantwire.adapters.csv.source import CsvFolderSource
from plantwire.adapters.csv.translate import mapping_from_dict
from plantwire.adapters.mqtt.rules import MqttMapping, TopicMapping
from plantwire.adapters.mqtt.translate import route_for, to_event
from plantwire.adapters.sparkplug import sparkplug_b_pb2 as pb
from plantwire.adapters.sparkplug.rules import SparkplugMapping
from plantwire.adapters.sparkplug.translate import SparkplugHost
from plantwire.bootstrap import Hub, Settings, bootstrap_for_tests
from plantwire.service.intake import HubIntake

T0 = 1_796_000_000_000
FILLER = RuleSet((goods_completed("Counters/Good", order=Tag("Order/Id"), item=Tag("Order/Item"),
                                  plant="1000", storage_location="FG01"),))
DOSER = RuleSet((component_consumed("Counters/Resin", order="1000042", item="RM-RESIN", plant="1000",
                                    storage_location="RM01", uom="KG"),))
SPARKPLUG = SparkplugMapping(groups=("Plant1000",), rules=(("Plant1000/Filler1", FILLER),
                                                           ("Plant1000/Filler1/Doser*", DOSER)))
TOPICS = ["spBv1.0/Plant1000/NBIRTH/Filler1", "spBv1.0/Plant1000/NDATA/Filler1",
          "spBv1.0/Plant1000/DBIRTH/Filler1/Doser1", "spBv1.0/Plant1000/DDATA/Filler1/Doser1",
          "spBv1.0/Plant1000/NDEATH/Filler1", "spBv1.0/Plant1000/DDEATH/Filler1/Doser1",
          "spBv1.0/Plant1000/STATE/Filler1", "spBv1.0//NDATA/Filler1", "spBv1.0/Plant1000/NDATA/Filler1/x/y"]


def _payload(seq: int | None, metrics: list[tuple[str | None, int | None, int, Any]]) -> bytes:
    message = pb.Payload(timestamp=T0)
    if seq is not None:
        message.seq = seq
    for name, alias, datatype, value in metrics:
        out = message.metrics.add(timestamp=T0, datatype=datatype)
        if name is not None:
            out.name = name
        if alias is not None:
            out.alias = alias
        if datatype == pb.Boolean:
            out.boolean_value = value
        elif datatype == pb.String:
            out.string_value = value
        elif datatype in (pb.Int64, pb.UInt64):
            out.long_value = value & ((1 << 64) - 1)
        elif datatype == pb.Double:
            out.double_value = value
        else:
            out.int_value = value & ((1 << 32) - 1)
    return message.SerializeToString()


NBIRTH = _payload(0, [("bdSeq", None, pb.UInt64, 3), ("Node Control/Rebirth", 1, pb.Boolean, False),
                      ("Order/Id", 2, pb.String, "1000042"), ("Order/Item", 3, pb.String, "FG-PUMP-100"),
                      ("Counters/Good", 4, pb.UInt32, 100)])
SPARKPLUG_SEEDS = [
    NBIRTH,
    _payload(1, [(None, 4, pb.UInt32, 105)]),
    _payload(1, [(None, 4, pb.Double, 1e308), (None, 2, pb.String, "x" * 1000)]),
    _payload(1, [("Counters/Resin", 10, pb.UInt32, 500), ("Temperature", 11, pb.Int16, -5)]),
    _payload(2, [(None, 10, pb.Double, float("nan")), (None, 99, pb.Int64, -1)]),
    _payload(None, [("bdSeq", None, pb.UInt64, 3)]),
]


@FUZZ
@given(st.sampled_from(TOPICS), mutated(SPARKPLUG_SEEDS, separators=b"\x12"),
       st.lists(st.sampled_from([NBIRTH, SPARKPLUG_SEEDS[3]]), max_size=2))
def test_sparkplug_host(topic: str, payload: bytes, before: list[bytes]) -> None:
    host = SparkplugHost(SPARKPLUG)
    host.handle(TOPICS[0], NBIRTH)
    for earlier in before:
        host.handle(TOPICS[2] if earlier is not NBIRTH else TOPICS[0], earlier)
    # the host never raises: what it cannot use comes back as located issues in its Outcome
    bounded("sparkplug", lambda: host.handle(topic, payload), located=False)


COMPLETION = TopicMapping(
    topic="plant/+/line/+/good", event_type="production.goods.completed",
    source="mes/plant-{topic[1]}/line-{topic[3]}", id="{order}/{seq}",
    fields={"order_id": "order", "item_id": "item", "completion_id": "{order}-{seq}",
            "yield_quantity.value": "good", "storage_location": "location", "completed_at": "ts",
            "lot": "lots[0].id"},
    constants={"plant": "1000", "yield_quantity.uom": "EA"}, optional=frozenset({"lot"}), time="ts",
    plant="{topic[1]}")
MQTT = MqttMapping([COMPLETION])
MQTT_DOCS: list[Any] = [{"order": "1000042", "seq": 17, "item": "FG-PUMP-100", "good": 2.5,
                         "location": "FG01", "ts": "2026-11-27T06:00:00+00:00", "lots": [{"id": "L1"}]}]
MQTT_SEEDS = [json.dumps(d).encode() for d in MQTT_DOCS] + [
    b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"order": 1E999999999, "seq": 1e-999999999, "good": 1E999999999}', b'{"good": ' + b"9" * MILLION + b"}"]


def _encoded(doc: Any) -> bytes:
    try:
        return json.dumps(doc).encode()
    except (RecursionError, ValueError):  # a hostile value json cannot write (deep nesting, huge int)
        return b"[" * 10_000


@FUZZ
@given(st.sampled_from(["plant/1000/line/L1/good", "plant/" + "x" * 1000 + "/line/L1/good"]),
       st.one_of(mutated(MQTT_SEEDS, separators=b",:"), mutated_json(MQTT_DOCS).map(_encoded)))
def test_mqtt_json(topic: str, payload: bytes) -> None:
    bounded("mqtt-json", lambda: to_event(route_for(MQTT, topic), topic, payload))


CSV_MAPPING: dict[str, Any] = {"folder": {
    "name": "fuzz-wms", "type": "inventory.transferred", "source": "csv/fuzz-wms",
    "id": "TR-{Doc}-{Line}", "time": "When",
    "fields": {"transfer_id": {"template": "{Doc}-{Line}"}, "plant": {"const": "1000"},
               "item_id": "Material", "quantity.value": "Qty", "quantity.uom": {"const": "EA"},
               "from_location": "From", "to_location": "To", "transferred_at": "When"}}}
CSV_SEEDS = [("Doc,Line,Material,Qty,From,To,When\n" + "".join(
    f"D1,{n},RM-BOLT-M8,{q},RM01,PR01,2026-11-27T08:00:00+00:00\n" for n, q in enumerate(qs, 1))).encode()
    for qs in (["10"], ["10", "2.5", "0.001"], ["1E999999999"], ['"1,5"', "7"])]
NAMES = itertools.count()


@pytest.fixture(scope="module")
def csv_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Path]]:
    root = tmp_path_factory.mktemp("csvfuzz")
    hub = bootstrap_for_tests(settings=Settings(data_dir=root / "hub"), durable=True)
    try:
        yield hub, root / "drop"
    finally:
        hub.close()


@FUZZ
@given(data=mutated(CSV_SEEDS, separators=b"\n,"))
def test_csv_folder(csv_hub: tuple[Hub, Path], data: bytes) -> None:
    """Each file through the real watched folder: it lands in done/ or error/ with a report, and the
    scan itself never fails, whatever the file holds."""
    hub, drop = csv_hub
    drop.mkdir(exist_ok=True)
    source = CsvFolderSource(drop, mapping_from_dict(CSV_MAPPING), HubIntake(hub.ingest), hub.state,
                             hub.clock, settle_scans=0)
    name = f"f{next(NAMES)}.csv"
    (drop / name).write_bytes(data)
    results = bounded("csv", lambda: asyncio.run(source.scan_once()), located=False)
    assert results is not None and [r.name for r in results] == [name]
    [result] = results
    assert result.outcome in ("done", "error", "already-processed")
    folder = "done" if result.outcome != "error" else "error"
    assert (drop / folder / name).exists() and (drop / folder / f"{name}.report.json").exists()


def test_deep_and_giant_mqtt_payloads_are_refused_with_the_topic() -> None:
    """Regression seeds: 10^5-deep arrays and 1E999999999 used to escape as RecursionError / overflow."""
    for payload in (MQTT_SEEDS[1], MQTT_SEEDS[2], _encoded(deep(10))):
        bounded("mqtt-json", lambda p=payload: to_event(route_for(MQTT, "plant/1/line/L/good"),
                                                        "plant/1/line/L/good", p))
