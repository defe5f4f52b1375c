"""The Sparkplug B host state machine, with payloads built from the Tahu protobuf."""

from __future__ import annotations

from adapter_fakes import T0, dbirth, death, nbirth, ndata, payload

from plantwire.adapters._rules import RuleSet, Tag, component_consumed, goods_completed, order_completed
from plantwire.adapters.sparkplug import sparkplug_b_pb2 as pb
from plantwire.adapters.sparkplug.rules import SparkplugMapping
from plantwire.adapters.sparkplug.translate import (
    SparkplugHost,
    command_message,
    metric_value,
    parse_topic,
    rebirth_command,
)
from plantwire.domain.production import ComponentConsumed, ProductionGoodsCompleted

FILLER = RuleSet((
    goods_completed("Counters/Good", order=Tag("Order/Id"), item=Tag("Order/Item"), plant="1000",
                    storage_location="FG01"),
    order_completed("Order/Complete", order=Tag("Order/Id"), item=Tag("Order/Item"), plant="1000",
                    storage_location="FG01"),
))
DOSER = RuleSet((component_consumed("Counters/Resin", order="1000042", item="RM-RESIN", plant="1000",
                                    storage_location="RM01", uom="KG"),))
MAPPING = SparkplugMapping(groups=("Plant1000",), rules=(("Plant1000/Filler1", FILLER),
                                                         ("Plant1000/Filler1/Doser*", DOSER)))
N = "spBv1.0/Plant1000/{}/Filler1"
D = "spBv1.0/Plant1000/{}/Filler1/Doser1"


def born() -> SparkplugHost:
    host = SparkplugHost(MAPPING)
    out = host.handle(N.format("NBIRTH"), nbirth(bd_seq=3))
    assert out.events == [] and out.issues == [] and out.rebirths == []
    return host


def test_topics_parse_and_bad_ones_name_the_topic() -> None:
    t = parse_topic("spBv1.0/G/DDATA/E/D")
    assert (t.group, t.message_type, t.edge_node, t.device) == ("G", "DDATA", "E", "D")
    host = SparkplugHost(MAPPING)
    for bad in ("spBv1.0/G/NDATA", "spBv1.0/G/XDATA/E", "spBv2.0/G/NDATA/E", "spBv1.0/G/NDATA/E/D"):
        [issue] = host.handle(bad, b"").issues
        assert issue.path == bad and issue.rule == "sparkplug-topic"


def test_aliases_from_the_birth_resolve_data_into_completions() -> None:
    host = born()
    out = host.handle(N.format("NDATA"), ndata(1, T0 + 5000, a4=104))
    [event] = out.events
    assert event["source"] == "sparkplug/Plant1000/Filler1"
    assert event["id"] == f"Plant1000/Filler1/Counters/Good/{T0 + 5000}/104"
    assert event["data"]["order_id"] == "1000042" and event["data"]["item_id"] == "FG-PUMP-100"
    assert event["data"]["yield_quantity"] == {"value": "4", "uom": "EA"}
    ProductionGoodsCompleted.model_validate(event["data"])
    final = host.handle(N.format("NDATA"), ndata(2, T0 + 6000, a5=True)).events
    assert [e["data"]["final"] for e in final] == [True]


def test_seq_wraps_from_255_to_0_without_a_rebirth() -> None:
    host = SparkplugHost(MAPPING)
    host.handle(N.format("NBIRTH"), nbirth(bd_seq=0, seq=254))
    assert host.handle(N.format("NDATA"), ndata(255, T0 + 1, a4=101)).rebirths == []
    out = host.handle(N.format("NDATA"), ndata(0, T0 + 2, a4=102))
    assert out.rebirths == [] and len(out.events) == 1


def test_a_seq_gap_asks_for_one_rebirth_and_keeps_counting() -> None:
    host = born()
    host.handle(N.format("NDATA"), ndata(1, T0 + 1, a4=101))
    out = host.handle(N.format("NDATA"), ndata(4, T0 + 2, a4=110))
    [request] = out.rebirths
    assert (request.group, request.edge_node) == ("Plant1000", "Filler1")
    assert "expected 2, got 4" in request.reason
    assert out.events[0]["data"]["yield_quantity"]["value"] == "9"  # a counter carries over gaps
    assert host.handle(N.format("NDATA"), ndata(7, T0 + 3, a4=111)).rebirths == []  # already asked
    again = host.handle(N.format("NBIRTH"), nbirth(bd_seq=3, good=115, ts=T0 + 4))
    assert [e["data"]["yield_quantity"]["value"] for e in again.events] == ["4"]  # moved during rebirth
    assert host.handle(N.format("NDATA"), ndata(5, T0 + 5, a4=116)).rebirths != []  # new gap, new ask


def test_an_unknown_alias_is_quarantined_by_name_and_asks_for_rebirth() -> None:
    host = born()
    out = host.handle(N.format("NDATA"), payload(1, [{"name": None, "value": 1, "datatype": pb.UInt32,
                                                      "alias": 99, "ts": T0}]))
    [issue] = out.issues
    assert issue.path == N.format("NDATA") + "#alias=99" and issue.rule == "sparkplug-alias"
    assert len(out.rebirths) == 1


def test_a_bad_protobuf_is_an_issue_naming_the_topic() -> None:
    host = born()
    out = host.handle(N.format("NDATA"), b"\xff\xff\xff garbage")
    [issue] = out.issues
    assert issue.path == N.format("NDATA") and issue.rule == "sparkplug-protobuf"
    assert len(out.rebirths) == 1


def test_data_before_any_birth_asks_for_rebirth() -> None:
    out = SparkplugHost(MAPPING).handle(N.format("NDATA"), ndata(0, T0, a4=1))
    assert out.issues[0].rule == "sparkplug-not-born" and len(out.rebirths) == 1 and out.events == []


def test_a_death_certificate_with_the_current_bdseq_takes_the_node_offline() -> None:
    host = born()
    stale = host.handle(N.format("NDEATH"), death(bd_seq=2))
    assert "stale" in stale.notes[0] and host.nodes[("Plant1000", "Filler1")].online
    host.handle(N.format("NDEATH"), death(bd_seq=3))
    assert not host.nodes[("Plant1000", "Filler1")].online
    after = host.handle(N.format("NDATA"), ndata(1, T0 + 1, a4=150))
    assert after.events == [] and after.issues[0].rule == "sparkplug-not-born" and after.rebirths


def test_device_birth_data_and_death() -> None:
    host = born()
    assert host.handle(D.format("DBIRTH"), dbirth(1)).events == []
    assert host.nodes[("Plant1000", "Filler1")].tags["Doser1"]["Temperature"] == -5  # Int16, signed
    [event] = host.handle(D.format("DDATA"), ndata(2, T0 + 9, a10=512)).events
    assert event["type"] == "production.component.consumed" and event["source"].endswith("/Filler1/Doser1")
    assert event["data"]["quantity"] == {"value": "12", "uom": "KG"}
    ComponentConsumed.model_validate(event["data"])
    host.handle(D.format("DDEATH"), payload(3, []))
    out = host.handle(D.format("DDATA"), ndata(4, T0 + 10, a10=600))
    assert out.issues[0].rule == "sparkplug-not-born" and out.events == []


def test_a_rule_needing_a_tag_with_no_value_is_an_issue() -> None:
    host = SparkplugHost(MAPPING)
    birth = payload(0, [{"name": "bdSeq", "value": 0, "datatype": pb.UInt64, "alias": None, "ts": T0},
                        {"name": "Counters/Good", "value": 1, "datatype": pb.UInt32, "alias": 4, "ts": T0}])
    host.handle(N.format("NBIRTH"), birth)
    out = host.handle(N.format("NDATA"), ndata(1, T0 + 1, a4=2))
    assert out.events == [] and out.issues[0].rule == "missing-tag"


def test_signed_values_and_commands() -> None:
    m = pb.Payload.Metric(int_value=(-2) & 0xFFFFFFFF)
    assert metric_value(m, pb.Int8) == -2 and metric_value(m, pb.UInt32) == 4294967294
    rebirth = pb.Payload.FromString(rebirth_command(T0))
    assert [(x.name, x.boolean_value) for x in rebirth.metrics] == [("Node Control/Rebirth", True)]
    topic, body = command_message("write", {"group": "G", "edge_node": "E", "device": "D",
                                            "metrics": {"Setpoint": 12.5}}, T0)
    assert topic == "spBv1.0/G/DCMD/E/D" and pb.Payload.FromString(body).metrics[0].double_value == 12.5
