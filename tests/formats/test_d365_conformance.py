"""Conformance over the synthetic Dynamics 365 fixtures; writes tests/formats/_results/d365.json."""

from __future__ import annotations

from test_sap_conformance import run_pack


def test_every_d365_fixture_is_handled() -> None:
    report = run_pack("d365")
    assert report["failures"] == []
    assert report["files"] == report["round_tripped"] + report["rejected_as_expected"]
