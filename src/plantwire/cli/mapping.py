"""Mapping-layer commands: ``xref``, ``uom``, ``valuemap``, ``dq`` (with ``dq review``), ``owners``."""

from __future__ import annotations

import getpass
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from plantwire.cli.common import AsJson, DataDir, console, fail, open_hub, print_json, when
from plantwire.domain.amounts import AmountError, parse_amount
from plantwire.domain.quantities import DomainError, Quantity, UomConversion
from plantwire.errors import PlantwireError
from plantwire.mapping.book import DQ, OWNERS, RuleBook
from plantwire.mapping.ownership import parse_book
from plantwire.mapping.review import ReviewQueue
from plantwire.mapping.rules import parse_text
from plantwire.mapping.uom import Rounding, Units
from plantwire.mapping.valuemaps import ValueMaps
from plantwire.mapping.xref import XrefStore
from plantwire.mapping.xref_csv import export_csv, import_csv

xref = typer.Typer(help="Cross-references: system ids <-> golden ids, versioned.", no_args_is_help=True)
uom = typer.Typer(help="Units of measure: conversions and rounding rules.", no_args_is_help=True)
valuemap = typer.Typer(help="Value maps per partner (status codes, plant codes).", no_args_is_help=True)
dq = typer.Typer(help="Data-quality rules and the review queue.", no_args_is_help=True)
review = typer.Typer(help="Events held for review by a quarantine rule.", no_args_is_help=True)
owners = typer.Typer(help="System-of-record ownership of attributes.", no_args_is_help=True)
dq.add_typer(review, name="review")

By = Annotated[str | None, typer.Option("--by", help="Who makes the change (default: your login).")]
Why = Annotated[str, typer.Option("--why", help="Why the change is made (kept in the history).")]


def _by(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _read_doc(path: Path) -> tuple[str, str]:
    if not path.is_file():
        fail(f"{path} is not a file")
    fmt = "json" if path.suffix.lower() == ".json" else "toml"
    return path.read_text(encoding="utf-8"), fmt


# -- xref -------------------------------------------------------------------------------------------
@xref.command("set")
def xref_set(system: str, kind: str, system_id: str, golden: str, data_dir: DataDir,
             why: Why = "", by: By = None) -> None:
    """Map SYSTEM's KIND id SYSTEM_ID to the GOLDEN id (a new version)."""
    with open_hub(data_dir) as hub:
        done = XrefStore(hub.state, hub.clock).set(system, kind, system_id, golden, _by(by), why)
    console.print("unchanged" if done is None else f"{system} {kind} {escape(system_id)} -> "
                  f"{escape(golden)} (version {done.version}, revision {done.revision})")


@xref.command("remove")
def xref_remove(system: str, kind: str, system_id: str, data_dir: DataDir, why: Why = "",
                by: By = None) -> None:
    """Remove a mapping (its history stays)."""
    with open_hub(data_dir) as hub:
        store = XrefStore(hub.state, hub.clock)
        store.get(system, kind, system_id)
        store.set(system, kind, system_id, None, _by(by), why)
    console.print(f"removed {system} {kind} {escape(system_id)}")


@xref.command("get")
def xref_get(system: str, kind: str, system_id: str, data_dir: DataDir, as_json: AsJson = False,
             revision: Annotated[int | None, typer.Option(help="As of this revision.")] = None) -> None:
    """The golden id of one system id, now or as of a revision."""
    with open_hub(data_dir) as hub:
        found = XrefStore(hub.state, hub.clock).get(system, kind, system_id, revision)
    if as_json:
        print_json(found.as_dict())
    else:
        console.print(escape(found.golden or ""))


def _versions_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("system", "kind", "system id", "golden", "version", "revision", "when", "by", "why")
    for v in rows:
        table.add_row(v["system"], v["kind"], escape(v["system_id"]), escape(v["golden"] or "(removed)"),
                      str(v["version"]), str(v["revision"]), when(v["at"]), v["by"], escape(v["why"]))
    return table


@xref.command("list")
def xref_list(data_dir: DataDir, as_json: AsJson = False,
              system: Annotated[str | None, typer.Option()] = None,
              kind: Annotated[str | None, typer.Option()] = None) -> None:
    """The current mappings."""
    with open_hub(data_dir) as hub:
        rows = [v.as_dict() for v in XrefStore(hub.state, hub.clock).list(system, kind)]
    if as_json:
        print_json(rows)
    else:
        console.print(_versions_table(rows))


@xref.command("history")
def xref_history(system: str, kind: str, system_id: str, data_dir: DataDir, as_json: AsJson = False) -> None:
    """Every version of one mapping: who changed it, when and why."""
    with open_hub(data_dir) as hub:
        rows = [v.as_dict() for v in XrefStore(hub.state, hub.clock).history(system, kind, system_id)]
    if as_json:
        print_json(rows)
    else:
        console.print(_versions_table(rows))


@xref.command("import")
def xref_import(file: Path, data_dir: DataDir, as_json: AsJson = False, why: Why = "", by: By = None,
                system: Annotated[str | None, typer.Option(help="If no system column.")] = None,
                kind: Annotated[str | None, typer.Option(help="If no kind column.")] = None,
                ) -> None:
    """Import a CSV (system,kind,system_id,golden_id[,why]); report added/changed/unchanged/rejected."""
    if not file.is_file():
        fail(f"{file} is not a file")
    text = file.read_text(encoding="utf-8-sig")
    with open_hub(data_dir) as hub:
        report = import_csv(hub.state, hub.clock, text, _by(by), why or f"import {file.name}", system, kind)
    out = report.as_dict()
    if as_json:
        print_json(out)
    else:
        console.print(f"added {out['added']}, changed {out['changed']}, unchanged {out['unchanged']}, "
                      f"rejected {out['rejected']}")
        for r in out["rejections"]:
            console.print(f"  line {r['line']}: {escape(r['reason'])}")
    if report.rejected:
        raise typer.Exit(2)


@xref.command("export")
def xref_export(data_dir: DataDir, system: Annotated[str | None, typer.Option()] = None,
                kind: Annotated[str | None, typer.Option()] = None,
                output: Annotated[Path | None, typer.Option("--output", "-o")] = None) -> None:
    """The current mappings as CSV (stdout, or --output FILE); importable as is."""
    with open_hub(data_dir) as hub:
        text = export_csv(XrefStore(hub.state, hub.clock).list(system, kind))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


# -- uom --------------------------------------------------------------------------------------------
@uom.command("set")
def uom_set(from_uom: str, factor: str, to_uom: str, data_dir: DataDir, by: By = None,
            item: Annotated[str | None, typer.Option(help="Only for this item.")] = None) -> None:
    """Declare 1 FROM_UOM = FACTOR TO_UOM (e.g. `uom set BOX 12 EA --item X`)."""
    try:
        conv = UomConversion(from_uom=from_uom, to_uom=to_uom, factor=parse_amount(factor), item_id=item)
    except (ValidationError, AmountError) as bad:
        fail(f"not a conversion: {bad}")
        raise
    with open_hub(data_dir) as hub:
        Units(hub.state, hub.clock).set_conversion(conv, _by(by))
    console.print(f"1 {from_uom} = {factor} {to_uom}" + (f" for item {escape(item)}" if item else ""))


@uom.command("round")
def uom_round(unit: str, places: int, mode: str, data_dir: DataDir, by: By = None) -> None:
    """Declare how results in UNIT are rounded: PLACES decimals, MODE (half-up, half-even, ...)."""
    try:
        rule = Rounding(places, mode)
    except ValueError as bad:
        fail(str(bad))
        raise
    with open_hub(data_dir) as hub:
        Units(hub.state, hub.clock).set_rounding(unit, rule, _by(by))
    console.print(f"{unit}: {places} decimal place(s), {mode}")


@uom.command("list")
def uom_list(data_dir: DataDir, as_json: AsJson = False) -> None:
    """Declared conversions and rounding rules."""
    with open_hub(data_dir) as hub:
        listing = Units(hub.state, hub.clock).listing()
    if as_json:
        print_json(listing)
        return
    table = Table("from", "factor", "to", "item", "by")
    for c in listing["conversions"]:
        table.add_row(c["from_uom"], str(c["factor"]), c["to_uom"], c["item_id"] or "(all)", c["by"])
    console.print(table)
    rounding = Table("unit", "places", "mode")
    for unit, r in listing["rounding"].items():
        rounding.add_row(unit, str(r["places"]), r["mode"])
    console.print(rounding)


@uom.command("convert")
def uom_convert(value: str, from_uom: str, to_uom: str, data_dir: DataDir, as_json: AsJson = False,
                item: Annotated[str | None, typer.Option()] = None) -> None:
    """Convert VALUE FROM_UOM into TO_UOM with what is declared."""
    with open_hub(data_dir) as hub:
        try:  # the one numeric policy before any arithmetic (a huge exponent once hung `convert`)
            result = Units(hub.state, hub.clock).convert(Quantity(value=parse_amount(value), uom=from_uom),
                                                         to_uom, item)
        except (DomainError, ValidationError, AmountError) as bad:
            fail(f"cannot convert {value[:40]!r}: {bad}")
            raise
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        console.print(f"{result.value} {result.uom}")


# -- valuemap ---------------------------------------------------------------------------------------
@valuemap.command("set")
def valuemap_set(partner: str, map_name: str, partner_value: str, value: str, data_dir: DataDir,
                 by: By = None) -> None:
    """Map PARTNER's PARTNER_VALUE in map MAP_NAME (e.g. status) to the canonical VALUE."""
    with open_hub(data_dir) as hub:
        ValueMaps(hub.state, hub.clock).set(partner, map_name, partner_value, value, _by(by))
    console.print(f"{partner} {map_name}: {escape(partner_value)} -> {escape(value)}")


@valuemap.command("list")
def valuemap_list(data_dir: DataDir, as_json: AsJson = False,
                  partner: Annotated[str | None, typer.Option()] = None) -> None:
    """Every value map entry (of one partner)."""
    with open_hub(data_dir) as hub:
        rows = ValueMaps(hub.state, hub.clock).list(partner)
    if as_json:
        print_json(rows)
        return
    table = Table("partner", "map", "partner value", "value", "by", "when")
    for r in rows:
        table.add_row(r["partner"], r["map"], escape(r["partner_value"]), escape(r["value"]), r["by"],
                      when(r["at"]))
    console.print(table)


# -- dq and owners ----------------------------------------------------------------------------------
@dq.command("load")
def dq_load(file: Path, data_dir: DataDir, by: By = None) -> None:
    """Replace the data-quality rules with those of a TOML or JSON FILE (checked before storing)."""
    text, fmt = _read_doc(file)
    with open_hub(data_dir) as hub:
        rules = parse_text(text, fmt)
        version = RuleBook(hub.state, hub.clock).load_rules(rules, _by(by), str(file))
    console.print(f"loaded {len(rules)} rule(s) from {file} as version {version}")


@dq.command("rules")
def dq_rules(data_dir: DataDir, as_json: AsJson = False,
             version: Annotated[int | None, typer.Option()] = None) -> None:
    """The data-quality rules in force (or an earlier version)."""
    with open_hub(data_dir) as hub:
        record = RuleBook(hub.state, hub.clock).record(DQ, version)
    if as_json:
        print_json(record)
        return
    console.print(f"version {record['version']} loaded {when(record['at'])} by {record['by']}")
    table = Table("id", "contract", "kind", "path", "severity", "plants")
    for r in record["doc"]["rules"]:
        table.add_row(r["id"], r["contract"], r["kind"], r["path"], r["severity"],
                      ",".join(r.get("plants", [])))
    console.print(table)


@review.command("list")
def review_list(data_dir: DataDir, as_json: AsJson = False,
                status: Annotated[str, typer.Option(help="open, approved, rejected, all")] = "open",
                ) -> None:
    """Events held for review."""
    with open_hub(data_dir) as hub:
        items = ReviewQueue(hub.state, hub.clock).list(None if status == "all" else status)
    if as_json:
        print_json(items)
        return
    table = Table("id", "status", "held", "type", "source", "event id", "issues")
    for i in items:
        issues = "; ".join(f"{x['path']} [{x['rule']}]: {x['message']}" for x in i["issues"])
        table.add_row(i["id"], i["status"], when(i["held_at"]), i["type"], escape(i["source"]),
                      escape(i["event_id"]), escape(issues))
    console.print(table)


@review.command("approve")
def review_approve(review_id: str, data_dir: DataDir, by: By = None,
                   note: Annotated[str, typer.Option()] = "") -> None:
    """Journal a held event as it arrived."""
    with open_hub(data_dir) as hub:
        item = ReviewQueue(hub.state, hub.clock).approve(review_id, hub.journal, _by(by), note)
    console.print(f"approved {review_id}: journaled as #{item['seq']}")


@review.command("reject")
def review_reject(review_id: str, data_dir: DataDir,
                  note: Annotated[str, typer.Option(help="Why (required).")], by: By = None) -> None:
    """Reject a held event; it is never journaled."""
    with open_hub(data_dir) as hub:
        ReviewQueue(hub.state, hub.clock).reject(review_id, _by(by), note)
    console.print(f"rejected {review_id}")


@owners.command("load")
def owners_load(file: Path, data_dir: DataDir, by: By = None) -> None:
    """Replace the ownership book with a TOML or JSON FILE."""
    text, fmt = _read_doc(file)
    try:
        doc = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as bad:
        fail(f"{file} is not valid {fmt.upper()}: {bad}")
        raise
    with open_hub(data_dir) as hub:
        try:
            book = parse_book(doc)
        except PlantwireError as bad:
            fail(str(bad))
            raise
        version = RuleBook(hub.state, hub.clock).load_owners(book, _by(by), str(file))
    console.print(f"loaded {len(book.owners)} ownership declaration(s) as version {version}")


@owners.command("list")
def owners_list(data_dir: DataDir, as_json: AsJson = False) -> None:
    """Who owns which attribute, and how a conflict is handled."""
    with open_hub(data_dir) as hub:
        record = RuleBook(hub.state, hub.clock).record(OWNERS)
    if as_json:
        print_json(record)
        return
    table = Table("object", "attribute", "owner", "on conflict", "consumers", "carried by")
    for o in record["doc"]["owners"]:
        carried = ", ".join(f"{u['type']}:{u['path']}" for u in o["updates"])
        table.add_row(o["object"], o["attribute"], o["system"], o["on_conflict"], ",".join(o["consumers"]),
                      carried)
    console.print(table)
