"""`plantwire edge`: run the plant edge agent, or show its status from the outbox file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from plantwire.cli.common import AsJson, console, fail, print_json, when

edge = typer.Typer(help="The plant edge agent: store events durably at the plant, forward to the hub.")

EdgeDir = Annotated[Path | None, typer.Option("--data-dir", "-d", envvar="PLANTWIRE_EDGE_DATA_DIR",
                                              help="Where the agent keeps its outbox.")]


@edge.callback(invoke_without_command=True)
def run(ctx: typer.Context,
        hub: Annotated[str | None, typer.Option(help="The hub's base URL, e.g. https://hub:8080.")] = None,
        data_dir: EdgeDir = None,
        host: Annotated[str, typer.Option(help="Address of the local intake API.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port of the local intake API.")] = 8090,
        key_file: Annotated[Path | None, typer.Option(help="File holding the hub API key.")] = None,
        batch_size: Annotated[int, typer.Option(help="Most events per request to the hub.")] = 1000,
        alarm_backlog: Annotated[int, typer.Option(help="Alarm when this many events wait.")] = 50_000,
        alarm_age: Annotated[float, typer.Option(help="Alarm when the oldest waits this long (s).")] = 900.0,
        max_outbox_mb: Annotated[int | None, typer.Option(help="Refuse intake (507) past this size.")] = None,
        priority: Annotated[list[str] | None, typer.Option(
            help="Priority rule TYPE-PATTERN=high|normal|low (repeatable; replaces the defaults).")] = None,
        config: Annotated[Path | None, typer.Option(
            "--config", "-c", help="TOML file declaring MQTT, Sparkplug B and OPC UA sources.")] = None,
        ) -> None:
    """Run the edge agent: local intake API on --port, forwarding to --hub when the link is up."""
    if ctx.invoked_subcommand is not None:
        return
    if hub is None or data_dir is None:
        fail("`plantwire edge` needs --hub URL and --data-dir DIR (or a subcommand such as `status`)")
        return
    import os

    from plantwire.edge.agent import run_agent
    from plantwire.edge.config import load_config
    from plantwire.edge.settings import DEFAULT_RULES, EdgeSettings, parse_rule
    from plantwire.errors import ConfigurationError
    from plantwire.logs import configure_logging

    key = key_file.read_text().strip() if key_file else os.environ.get("PLANTWIRE_EDGE_KEY")
    try:
        rules = tuple(parse_rule(p) for p in priority) if priority else DEFAULT_RULES
    except ValueError as exc:
        fail(str(exc))
        return
    try:
        sources = load_config(config) if config is not None else None
    except ConfigurationError as exc:
        fail(escape(str(exc)))
        return
    configure_logging()
    settings = EdgeSettings(
        hub_url=hub, data_dir=data_dir, hub_key=key, host=host, port=port, batch_size=batch_size,
        alarm_backlog=alarm_backlog, alarm_age=alarm_age, rules=rules,
        max_outbox_bytes=max_outbox_mb * 1024 * 1024 if max_outbox_mb else None)
    try:
        run_agent(settings, sources)
    except ConfigurationError as exc:  # e.g. an outbox schema newer than this plantwire
        fail(escape(str(exc)))


@edge.command("status")
def status(data_dir: EdgeDir = None, as_json: AsJson = False) -> None:
    """Link state, backlog by priority and age, last forward, alarms, events the hub refused, sources."""
    from plantwire.edge.outbox import connect
    from plantwire.edge.settings import OUTBOX_FILE
    from plantwire.edge.status import full_status

    if data_dir is None or not (data_dir / OUTBOX_FILE).exists():
        fail(f"no edge outbox in {data_dir} (start `plantwire edge --hub URL --data-dir DIR` first)")
        return
    conn = connect(data_dir / OUTBOX_FILE, readonly=True)
    try:
        st = full_status(conn, time.time())
    finally:
        conn.close()
    if as_json:
        print_json(st)
        return
    _print(st)


def _print(st: dict[str, Any]) -> None:
    agent, link, backlog = st["agent"], st["link"], st["backlog"]
    running = "[green]running[/]" if agent["running"] else "[red]not running[/]"
    console.print(f"agent: {running} (pid {agent.get('pid', '-')}), hub {agent.get('hub', '-')}")
    console.print(f"link: [bold]{link.get('state')}[/] since {when(link.get('since'))}; last forward "
                  f"{when(st['last_forward_at'])}" + (f"; last error: {link['last_error']}"
                                                      if link.get("last_error") else ""))
    table = Table(title=f"backlog: {backlog['total']} event(s), peak {backlog['peak']}")
    for col in ("priority", "waiting", "oldest (s)"):
        table.add_column(col, justify="right" if col != "priority" else "left")
    for name, row in backlog["by_priority"].items():
        table.add_row(name, str(row["count"]), f"{row['oldest_age_s']:.1f}")
    console.print(table)
    for kind, alarm in st["alarms"].items():
        console.print(f"[bold red]ALARM {kind}[/] since {when(alarm['since'])}: {alarm['detail']}")
    if not st["alarms"]:
        console.print("alarms: none")
    failed = st["failed_at_hub"]
    console.print(f"failed at hub: {failed['count']}")
    for row in failed["recent"]:
        console.print(f"  #{row['seq']} {row['type']} {row['source']} {row['id']}: {row['reason']}")
    _print_sources(st.get("sources", []))


def _print_sources(sources: list[dict[str, Any]]) -> None:
    if not sources:
        return
    table = Table(title=f"sources: {len(sources)}")
    for col in ("source", "kind", "state", "last message", "messages", "kept", "quarantined", "restarts"):
        table.add_column(col, justify="right" if col in ("messages", "kept", "quarantined", "restarts")
                         else "left")
    for s in sources:
        kept = s["events"]["accepted"] + s["events"]["duplicate"]
        table.add_row(escape(s["name"]), s["kind"], s["state"], when(s["last_message_at"]),
                      str(s["messages"]), str(kept), str(s["quarantined"]["count"]), str(s["restarts"]))
    console.print(table)
    for s in sources:
        if s.get("last_error"):
            console.print(f"[yellow]{escape(s['name'])}[/] last error: {escape(s['last_error'])}")
        for q in s["quarantined"]["recent"]:
            issues = "; ".join(f"{i['path']}: {i['message']} [{i['rule']}]" for i in q["issues"])
            console.print(f"  [red]quarantined[/] {escape(s['name'])} {when(q['at'])} {escape(q['where'])}: "
                          f"{escape(issues or q['error'])}")
