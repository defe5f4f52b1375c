"""Cross-references, value maps and the review queue on a real (memory) state store."""

from __future__ import annotations

import pytest

from plantwire.adapters.simfeed import CrossReference
from plantwire.clocks import ManualClock
from plantwire.envelope import Envelope, Pending
from plantwire.errors import BusinessRuleViolation, InvalidEvent, Issue, NotFound, RequestRejected
from plantwire.journal.memory import MemoryJournal, MemoryState
from plantwire.mapping.review import ReviewQueue
from plantwire.mapping.valuemaps import ValueMaps, translate
from plantwire.mapping.xref import XrefConflict, XrefStore
from plantwire.mapping.xref_csv import export_csv, import_csv


@pytest.fixture
def store() -> XrefStore:
    return XrefStore(MemoryState(), ManualClock())


def test_versions_history_and_as_of(store: XrefStore) -> None:
    first = store.set("erp", "item", "10000100", "FG-PUMP-100", "ann", "initial load")
    assert first is not None and (first.version, first.revision) == (1, 1)
    assert store.set("erp", "item", "10000100", "FG-PUMP-100", "ann") is None  # unchanged: no version
    store.set("erp", "item", "20000011", "RM-HOUSING-A", "ann")
    second = store.set("erp", "item", "10000100", "FG-PUMP-101", "bob", "renumbered")
    assert second is not None and (second.version, second.revision) == (2, 3)
    assert store.golden("erp", "item", "10000100") == "FG-PUMP-101"
    assert store.get("erp", "item", "10000100", revision=2).golden == "FG-PUMP-100"
    with pytest.raises(NotFound, match="as of revision 0"):
        store.get("erp", "item", "10000100", revision=0)
    history = store.history("erp", "item", "10000100")
    assert [(v.golden, v.by, v.why) for v in history] == [("FG-PUMP-100", "ann", "initial load"),
                                                          ("FG-PUMP-101", "bob", "renumbered")]


def test_one_golden_per_system_id_and_removal(store: XrefStore) -> None:
    store.set("erp", "item", "1", "A", "ann")
    with pytest.raises(XrefConflict, match="already mapped from erp id '1'"):
        store.set("erp", "item", "2", "A", "ann")
    store.set("mes", "item", "P-1", "A", "ann")  # another system may map to the same golden id
    store.set("erp", "item", "1", None, "ann", "obsolete")
    with pytest.raises(NotFound, match="no cross-reference for erp item '1'"):
        store.golden("erp", "item", "1")
    store.set("erp", "item", "2", "A", "ann")
    assert store.table("erp", "item") == {"A": "2"}
    assert CrossReference("erp", "MATNR", store.table("erp", "item")).to_system("A") == "2"
    with pytest.raises(RequestRejected):
        store.set("ERP SYSTEM", "item", "1", "A", "ann")


def test_csv_import_reports_each_line(store: XrefStore) -> None:
    store.set("erp", "item", "3", "C-OLD", "ann")
    text = ("system,kind,system_id,golden_id,why\n"
            "erp,item,1,A,\n"
            "erp,item,2,B,\n"
            "erp,item,3,C,renamed\n"
            "erp,item,,D,\n"
            "erp,item,1,Z,\n"
            "erp,item,4,A,\n")
    report = import_csv(store.state, store.clock, text, "ann", "bulk")
    out = report.as_dict()
    assert (out["added"], out["changed"], out["unchanged"], out["rejected"]) == (2, 1, 0, 3)
    assert out["lines"] == {"added": [2, 3], "changed": [4], "unchanged": []}
    assert [r["line"] for r in out["rejections"]] == [5, 6, 7]
    assert "already given on line 2" in out["rejections"][1]["reason"]
    assert "already mapped" in out["rejections"][2]["reason"]
    again = import_csv(store.state, store.clock, export_csv(store.list()), "ann")
    assert again.as_dict()["unchanged"] == 3 and again.revision is None
    assert store.history("erp", "item", "3")[-1].why == "renamed"


def test_csv_import_without_columns_given_by_caller(store: XrefStore) -> None:
    report = import_csv(store.state, store.clock, "system_id,golden_id\nP1,A\n", "ann", system="mes",
                        kind="item")
    assert report.added == [2] and store.golden("mes", "item", "P1") == "A"
    bad = import_csv(store.state, store.clock, "system_id,golden_id\nP1,A\n", "ann")
    assert bad.rejected == [{"line": 1, "reason": "missing column(s): system, kind"}]


def test_value_maps() -> None:
    maps = ValueMaps(MemoryState(), ManualClock())
    maps.set("acme", "status", "OK", "accepted", "ann")
    maps.set("acme", "status", "NO", "rejected", "ann")
    table = maps.table("acme", "status")
    assert translate(table, "acme", "status", "OK") == "accepted"
    with pytest.raises(InvalidEvent, match="acme status value 'MAYBE' has no mapping"):
        translate(table, "acme", "status", "MAYBE", "$.data.status")
    assert [r["partner_value"] for r in maps.list("acme")] == ["NO", "OK"]


def test_review_queue_holds_once_and_approves_into_the_journal() -> None:
    clock = ManualClock()
    queue, journal = ReviewQueue(MemoryState(), clock), MemoryJournal(clock)
    env = Envelope(id="E1", source="s", type="t", partitionkey="k", contractversion="1", data={"a": 1})
    issue = Issue("$.data.a", "r", "odd")
    rid = queue.hold(Pending.of(env), [issue])
    assert queue.hold(Pending.of(env), [issue]) == rid
    assert [i["id"] for i in queue.list()] == [rid]
    item = queue.approve(rid, journal, "ann", "checked")
    assert item["status"] == "approved" and item["seq"] == 1 and journal.head() == 1
    assert journal.get("s", "E1") is not None
    with pytest.raises(BusinessRuleViolation, match="already approved"):
        queue.reject(rid, "ann", "too late")
    other = queue.hold(Pending.of(Envelope(id="E2", source="s", type="t", partitionkey="k",
                                           contractversion="1", data={})), [issue])
    assert queue.reject(other, "ann", "wrong")["status"] == "rejected"
    assert journal.head() == 1
    with pytest.raises(NotFound):
        queue.show("999")
