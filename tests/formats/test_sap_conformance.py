"""Conformance over the synthetic SAP fixtures (runner shared with Oracle and D365)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from erp_packs import FIXTURES, PACKS, RESULTS

from plantwire.domain.catalog import CATALOG
from plantwire.errors import InvalidEvent
from plantwire.service.validation import validate_event

FORMAT_NAMES = {
    "sap": "SAP IDoc XML + OData JSON",
    "oracle": "Oracle Fusion SCM REST",
    "d365": "Dynamics 365 F&O OData",
}


def _check_valid(kind: Any, data: bytes) -> tuple[bool, bool, bool]:
    model = kind.parse(data)
    assert model is not None, "a valid fixture must map to a canonical document"
    for event in kind.events(data):
        validate_event(event, CATALOG)
    again = kind.parse(kind.emit(model))
    return True, True, again == model


def run_pack(pack: str) -> dict[str, Any]:
    manifest = json.loads((FIXTURES / pack / "manifest.json").read_text())
    report: dict[str, Any] = {
        "format": FORMAT_NAMES[pack],
        "files": 0,
        "parsed": 0,
        "mapped": 0,
        "round_tripped": 0,
        "rejected_as_expected": 0,
        "failures": [],
    }
    for name, spec in sorted(manifest.items()):
        report["files"] += 1
        kind = PACKS[pack][spec["kind"]]
        data = (FIXTURES / pack / name).read_bytes()
        try:
            if spec["expect"] == "valid":
                parsed, mapped, tripped = _check_valid(kind, data)
                report["parsed"] += parsed
                report["mapped"] += mapped
                report["round_tripped"] += tripped
                if not tripped:
                    report["failures"].append({"file": name, "error": "emit -> parse changed the document"})
                continue
            kind.parse(data)
            report["failures"].append({"file": name, "error": "accepted a broken file"})
        except InvalidEvent as error:
            if spec["expect"] == "valid":
                report["failures"].append({"file": name, "error": str(error)})
                continue
            issue = error.issues[0]
            if issue.rule == spec["rule"] and (spec["path"] is None or issue.path.startswith(spec["path"])):
                report["rejected_as_expected"] += 1
            else:
                report["failures"].append(
                    {
                        "file": name,
                        "error": f"wrong issue {issue.as_dict()}",
                        "expected": {"rule": spec["rule"], "path": spec["path"]},
                    }
                )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{pack}.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


@pytest.mark.parametrize("pack", ["sap"])
def test_every_fixture_is_handled(pack: str) -> None:
    report = run_pack(pack)
    assert report["failures"] == []
    assert report["files"] == report["round_tripped"] + report["rejected_as_expected"]
