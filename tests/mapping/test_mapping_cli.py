"""The mapping CLI groups through typer's CliRunner on a real data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from mapping_fixtures import OWNERS, RULES_TOML
from typer.testing import CliRunner

from plantwire.cli.mapping import dq, owners, uom, valuemap, xref

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "hub"
    d.mkdir()
    return d


def run(group: typer.Typer, data_dir: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(group, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == code, result.output
    return result.output


def test_xref_commands(data_dir: Path, tmp_path: Path) -> None:
    run(xref, data_dir, "set", "erp", "item", "10000100", "FG-PUMP-100", "--why", "load", "--by", "ann")
    run(xref, data_dir, "set", "erp", "item", "10000100", "FG-PUMP-101", "--by", "bob")
    assert run(xref, data_dir, "get", "erp", "item", "10000100").strip() == "FG-PUMP-101"
    assert run(xref, data_dir, "get", "erp", "item", "10000100", "--revision", "1").strip() == "FG-PUMP-100"
    history = json.loads(run(xref, data_dir, "history", "erp", "item", "10000100", "--json"))
    assert [v["by"] for v in history] == ["ann", "bob"]
    file = tmp_path / "x.csv"
    file.write_text("system,kind,system_id,golden_id\nerp,location,RM01,RM01\nerp,location,,X\n")
    report = json.loads(run(xref, data_dir, "import", str(file), "--json", code=2))
    assert report["added"] == 1 and report["rejections"][0]["line"] == 3
    listed = json.loads(run(xref, data_dir, "list", "--json", "--kind", "location"))
    assert [v["system_id"] for v in listed] == ["RM01"]
    assert "erp,item,10000100,FG-PUMP-101" in run(xref, data_dir, "export")
    assert "no cross-reference" in run(xref, data_dir, "get", "erp", "item", "nope", code=1)


def test_uom_and_valuemap_commands(data_dir: Path) -> None:
    run(uom, data_dir, "set", "BOX", "12", "EA", "--item", "X")
    assert run(uom, data_dir, "convert", "3", "BOX", "EA", "--item", "X").strip() == "36 EA"
    assert "declare a rounding rule" in run(uom, data_dir, "convert", "5", "EA", "BOX", "--item", "X", code=1)
    run(uom, data_dir, "round", "BOX", "1", "half-even")
    assert run(uom, data_dir, "convert", "5", "EA", "BOX", "--item", "X").strip() == "0.4 BOX"
    listing = json.loads(run(uom, data_dir, "list", "--json"))
    assert listing["rounding"]["BOX"]["mode"] == "half-even" and len(listing["conversions"]) == 1
    run(valuemap, data_dir, "set", "acme", "status", "OK", "accepted")
    assert json.loads(run(valuemap, data_dir, "list", "--json"))[0]["value"] == "accepted"


def test_dq_and_owners_commands(data_dir: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES_TOML)
    assert "loaded 4 rule(s)" in run(dq, data_dir, "load", str(rules))
    assert json.loads(run(dq, data_dir, "rules", "--json"))["version"] == 1
    broken = tmp_path / "broken.json"
    broken.write_text('{"rules": [{"id": "x", "contract": "t", "kind": "range", "path": "a"}]}')
    assert "needs min or max" in run(dq, data_dir, "load", str(broken), code=1)
    assert json.loads(run(dq, data_dir, "review", "list", "--json")) == []
    assert "no review item" in run(dq, data_dir, "review", "approve", "000000001", code=1)
    book = tmp_path / "owners.json"
    book.write_text(json.dumps(OWNERS))
    assert "loaded 2 ownership" in run(owners, data_dir, "load", str(book))
    assert json.loads(run(owners, data_dir, "list", "--json"))["doc"]["owners"][1]["system"] == "wms"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("value", ["1E-999999999", "1E999999999", "1" * 19, "ten"])
def test_uom_commands_read_amounts_by_the_numeric_policy(data_dir: Path, value: str) -> None:
    run(uom, data_dir, "set", "KG", "1000", "G")
    converted = run(uom, data_dir, "convert", value, "KG", "G", code=1)
    assert value[:10] in converted or "exponent" in converted, converted
    refused = run(uom, data_dir, "set", "BOX", value, "EA", code=1)
    assert "not a conversion" in refused
    assert run(uom, data_dir, "convert", "2.5", "KG", "G").strip() == "2500 G"
