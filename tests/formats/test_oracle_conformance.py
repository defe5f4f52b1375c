"""Conformance over the synthetic Oracle Fusion fixtures; writes tests/formats/_results/oracle.json."""

from __future__ import annotations

from test_sap_conformance import run_pack


def test_every_oracle_fixture_is_handled() -> None:
    report = run_pack("oracle")
    assert report["failures"] == []
    assert report["files"] == report["round_tripped"] + report["rejected_as_expected"]
