"""Every file of corpus/x12: parsed, validated, mapped, emitted back; broken files rejected, located.

Writes tests/formats/_results/x12.json for the combined table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_x12_support import (
    CORPUS,
    PARTNER,
    acks_of,
    events_of,
    round_trip_997,
    round_trip_event,
    same_document,
)

from plantwire.adapters.x12.source import receive
from plantwire.domain.catalog import CATALOG
from plantwire.errors import InvalidEvent
from plantwire.service.validation import validate_event

RESULTS = Path(__file__).resolve().parent / "_results"
UNLISTED_BROKEN = {
    # not in corpus/README's list, but broken all the same: SE01 says 50 segments where the set has
    # 6, and the "850" has no BEG; a correct parser must refuse it (997 AK5 R with codes 4 and 5)
    "edi-net/x12.810.mandatory-conditions.edi": "segment[8]/SE01",
}
WHERE = {  # the first located issue each broken file must report
    "edi-net/x12.850.issue135.edi": "segment[23]/DTM02",  # the line with no terminator
    "stupidedi/004010_PR855_fail_2.edi": "segment[1]/ISA10",  # the ISA broken across lines
    "stupidedi/004010_SH856_fail_2.edi": "segment[13]/N104",  # "~" + blank line inside a "$" file
    "stupidedi/003010_PO850_fail_1.edi": "segment[29]/SE01",  # SE01 says 28, the set has 27
    "stupidedi/002001_SH856_fail_1.edi": "segment[2]/GS08",  # version 002001 is not supported
    **UNLISTED_BROKEN,
}


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*.edi") if "definitions" not in p.parts)


def is_broken(name: str) -> bool:
    return "_fail_" in name or name == "edi-net/x12.850.issue135.edi" or name in UNLISTED_BROKEN


def check_file(path: Path, counts: dict[str, Any]) -> None:
    name = path.relative_to(CORPUS).as_posix()
    data = path.read_bytes()
    if is_broken(name):
        with pytest.raises(InvalidEvent) as caught:
            events_of(data)
        paths = [issue.path for issue in caught.value.issues]
        assert WHERE[name] in paths, f"{name}: expected an issue at {WHERE[name]}, got {paths}"
        assert all(p.startswith(("segment[", "byte[")) for p in paths)
        counts["rejected_as_expected"] += 1
        return
    events = events_of(data)
    counts["parsed"] += 1
    for event in events:
        validate_event(event, CATALOG)
    acks = acks_of(data)
    mapped = bool(events) or bool(acks)
    counts["mapped"] += bool(events)
    for event in events:
        back = round_trip_event(event)
        validate_event(back, CATALOG)
        assert same_document(event, back), f"{name}: {event['data']} != {back['data']}"
    for ack in acks:
        assert round_trip_997(ack) == ack
    counts["round_tripped"] += mapped
    result = receive(data, PARTNER, datetime(2024, 1, 1, tzinfo=UTC))
    assert result.accepted and len(result.events) == len(events)


def test_every_corpus_file() -> None:
    files = corpus_files()
    assert len(files) >= 20
    counts: dict[str, Any] = {"format": "x12", "files": len(files), "parsed": 0, "mapped": 0,
                              "round_tripped": 0, "rejected_as_expected": 0, "failures": []}
    for path in files:
        try:
            check_file(path, counts)
        except (AssertionError, InvalidEvent, pytest.fail.Exception) as error:
            counts["failures"].append(f"{path.relative_to(CORPUS).as_posix()}: {error}"[:500])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "x12.json").write_text(json.dumps(counts, indent=2))
    assert not counts["failures"], counts["failures"]
    assert counts["parsed"] + counts["rejected_as_expected"] == counts["files"]


@pytest.mark.parametrize("name", sorted(n for n in WHERE if "ISA" not in WHERE[n]))
def test_broken_sets_are_rejected_by_their_997(name: str) -> None:
    result = receive((CORPUS / name).read_bytes(), PARTNER, datetime(2024, 1, 1, tzinfo=UTC))
    assert not result.accepted and result.events == []
    (ack,) = result.acks_out
    text = ack.decode()
    assert "AK9*R*" in text or ("AK9*P*" in text and "AK5*R" in text)  # P: another set was fine
    if "GS08" not in WHERE[name]:
        assert "AK5*R" in text
    if "GS08" not in WHERE[name] and "SE01" not in WHERE[name]:
        assert "AK3*" in text and "AK4*" in text  # the segment and element that locate the error
