"""Operator commands: events, dead letters, replay, status, keys."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from plantwire.cli.common import AsJson, DataDir, console, fail, open_hub, parse_time, print_json, when
from plantwire.service.queries import entry_dict

events = typer.Typer(help="Read the journal.", no_args_is_help=True)
dlq = typer.Typer(help="Look at and act on dead letters.", no_args_is_help=True)
keys = typer.Typer(help="Manage API keys.", no_args_is_help=True)
exceptions = typer.Typer(help="Business exceptions a person must act on.", no_args_is_help=True)


@events.command("tail")
def events_tail(data_dir: DataDir, as_json: AsJson = False,
                limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
                type_: Annotated[list[str] | None, typer.Option("--type", "-t")] = None,
                follow: Annotated[bool, typer.Option("--follow", "-f")] = False) -> None:
    """The newest events in the journal (with --follow, keep printing new ones)."""
    with open_hub(data_dir) as hub:
        entries = hub.queries.tail(None, limit, type_)
        after = entries[-1].seq if entries else hub.journal.head()
        _print_entries(entries, as_json)
        while follow:
            time.sleep(0.5)
            new = hub.queries.tail(after, 500, type_)
            if new:
                after = new[-1].seq
                _print_entries(new, as_json, header=False)


def _print_entries(entries: list, as_json: bool, header: bool = True) -> None:  # type: ignore[type-arg]
    if as_json:
        print_json([entry_dict(e) for e in entries])
        return
    table = Table("seq", "recorded", "type", "source", "id", "key", show_header=header)
    for e in entries:
        env = e.envelope
        table.add_row(str(e.seq), when(e.recorded_at), env.type, env.source, env.id, env.partitionkey)
    console.print(table)


@events.command("show")
def events_show(source: str, event_id: Annotated[str, typer.Argument(metavar="ID")],
                data_dir: DataDir, as_json: AsJson = False) -> None:
    """One event, with where it stands in delivery for each subscriber."""
    with open_hub(data_dir) as hub:
        found = hub.queries.show(source, event_id)
    if as_json:
        print_json(found)
        return
    console.print(f"[bold]#{found['seq']}[/] recorded {when(found['recorded_at'])}")
    console.print_json(data=found["event"])
    table = Table("subscriber", "state", "detail")
    for name, state in found["delivery"].items():
        detail = ", ".join(f"{k}={v}" for k, v in state.items() if k != "state" and v is not None)
        table.add_row(name, state["state"], detail)
    console.print(table)


@dlq.command("list")
def dlq_list(data_dir: DataDir, as_json: AsJson = False,
             status: Annotated[str, typer.Option(help="open, retrying, resolved, discarded or all")] = "open",
             subscriber: Annotated[str | None, typer.Option()] = None) -> None:
    """Dead letters (open ones by default)."""
    with open_hub(data_dir) as hub:
        letters = hub.dead_letters.list(None if status == "all" else status, subscriber)
    if as_json:
        print_json(letters)
        return
    table = Table("id", "subscriber", "seq", "type", "key", "error", "attempts", "blocking", "status",
                  "last failed")
    for d in letters:
        table.add_row(str(d["id"]), d["subscriber"], str(d["seq"]), d["type"], d["key"],
                      f"{d['error_class'].rsplit('.', 1)[-1]}: {d['error_message']}"[:80],
                      str(d["attempts"]), str(d["blocking"]), d["status"], when(d["last_failed_at"]))
    console.print(table)


@dlq.command("show")
def dlq_show(dlq_id: int, data_dir: DataDir, as_json: AsJson = False) -> None:
    """One dead letter: the error, the attempts, the whole event, what it holds up."""
    with open_hub(data_dir) as hub:
        letter = hub.dead_letters.show(dlq_id)
    if as_json:
        print_json(letter)
        return
    for k in ("id", "status", "subscriber", "seq", "source", "event_id", "type", "key",
              "error_class", "error_message", "attempts", "retries", "reason"):
        console.print(f"[bold]{k}[/]: {letter.get(k)}")
    console.print(f"[bold]first failed[/]: {when(letter['first_failed_at'])}  "
                  f"[bold]last failed[/]: {when(letter['last_failed_at'])}")
    console.print(f"[bold]blocking[/]: {letter['blocking']} later event(s) of key {letter['key']!r}"
                  + (f" (seqs {letter['blocked_seqs']})" if letter["blocked_seqs"] else ""))
    console.print_json(data=letter["event"])


@dlq.command("retry")
def dlq_retry(dlq_id: int, data_dir: DataDir, as_json: AsJson = False) -> None:
    """Deliver a dead-lettered event again (the running hub picks it up within a second)."""
    with open_hub(data_dir) as hub:
        letter = hub.dead_letters.retry(dlq_id)
    print_json(letter) if as_json else console.print(f"dead letter {dlq_id} queued for retry")


@dlq.command("discard")
def dlq_discard(dlq_id: int, data_dir: DataDir,
                reason: Annotated[str, typer.Option("--reason", "-r", help="Why; kept with it.")],
                as_json: AsJson = False) -> None:
    """Give up on a dead-lettered event; later events of its key go on."""
    with open_hub(data_dir) as hub:
        letter = hub.dead_letters.discard(dlq_id, reason)
    print_json(letter) if as_json else console.print(f"dead letter {dlq_id} discarded: {reason}")


def replay(subscriber: Annotated[str, typer.Option("--subscriber", "-s")], data_dir: DataDir,
           type_: Annotated[list[str] | None, typer.Option("--type", "-t")] = None,
           since: Annotated[str | None, typer.Option(help="ISO 8601; entries recorded from then")] = None,
           dry_run: Annotated[bool, typer.Option("--dry-run")] = False, as_json: AsJson = False) -> None:
    """Rebuild a subscriber's effects from the journal (forget, then handle again, in order)."""
    with open_hub(data_dir) as hub:
        report = hub.replayer.replay(subscriber, type_, parse_time(since), dry_run)
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {report.selected} event(s) for {subscriber} "
                  f"(seq {report.first_seq}..{report.last_seq}); held in delivery, skipped: "
                  f"{report.skipped_held}")
    for t, n in sorted(report.by_type.items()):
        console.print(f"  {t}: {n}")


def status(data_dir: DataDir, as_json: AsJson = False) -> None:
    """Journal head and each subscriber's position, lag and counts."""
    with open_hub(data_dir) as hub:
        st = hub.queries.status()
    if as_json:
        print_json(st)
        return
    console.print(f"journal head: {st['journal_head']}   open dead letters: {st['dead_letters_open']}")
    table = Table("subscriber", "position", "lag", "delivered", "retrying", "dead", "blocked")
    for name, s in st["subscribers"].items():
        table.add_row(name, *(str(s[k]) for k in ("position", "lag", "delivered", "retrying",
                                                    "dead", "blocked")))
    console.print(table)


@exceptions.command("list")
def exceptions_list(data_dir: DataDir, as_json: AsJson = False,
                    status: Annotated[str, typer.Option(help="open, resolved or all")] = "open",
                    kind: Annotated[str | None, typer.Option()] = None,
                    plant: Annotated[str | None, typer.Option()] = None) -> None:
    """Business exceptions (open ones by default), oldest first, with their age."""
    with open_hub(data_dir) as hub:
        rows = hub.exceptions.list(None if status == "all" else status, kind, plant)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "kind", "plant", "supplier", "flow", "key", "what happened", "what to do", "age")
    for r in rows:
        table.add_row(str(r["id"]), r["kind"], r["plant"] or "-", r["supplier"] or "-", r["flow"],
                      r["key"], r["message"], r["action"], f"{r['age_seconds'] / 3600:.1f} h")
    console.print(table)


@exceptions.command("show")
def exceptions_show(ex_id: int, data_dir: DataDir, as_json: AsJson = False) -> None:
    """One business exception with all its details."""
    with open_hub(data_dir) as hub:
        found = hub.exceptions.show(ex_id)
    if as_json:
        print_json(found)
        return
    for k in ("id", "status", "kind", "flow", "key", "plant", "supplier", "message", "action", "note"):
        console.print(f"[bold]{k}[/]: {found.get(k)}")
    console.print(f"[bold]raised[/]: {when(found['raised_at'])}  "
                  f"[bold]resolved[/]: {when(found['resolved_at'])}")
    console.print_json(data=found["details"])


@exceptions.command("retry")
def exceptions_retry(ex_id: int, data_dir: DataDir, as_json: AsJson = False) -> None:
    """Send an exception's failed command again (after fixing the data in the target)."""
    with open_hub(data_dir) as hub:
        found = hub.exceptions.retry(ex_id)
    print_json(found) if as_json else console.print(
        f"exception {ex_id}: {found['failed_command']['target']}.{found['failed_command']['name']} "
        "queued again (the running hub sends it within a second)")


@exceptions.command("resolve")
def exceptions_resolve(ex_id: int, data_dir: DataDir,
                       note: Annotated[str, typer.Option("--note", "-m", help="What was done.")],
                       as_json: AsJson = False) -> None:
    """Close a business exception with a note saying what was done."""
    with open_hub(data_dir) as hub:
        found = hub.exceptions.resolve(ex_id, note)
    print_json(found) if as_json else console.print(f"exception {ex_id} resolved: {note}")


@keys.command("create")
def keys_create(name: str, data_dir: DataDir) -> None:
    """Create an API key; the token is printed once and stored only as a hash."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open_hub(data_dir) as hub:
        token = hub.keys.create(name)
    print(token)


@keys.command("list")
def keys_list(data_dir: DataDir, as_json: AsJson = False) -> None:
    """Live API keys (names and dates, never tokens)."""
    with open_hub(data_dir) as hub:
        rows = hub.keys.list()
    if as_json:
        print_json(rows)
        return
    table = Table("name", "created")
    for r in rows:
        table.add_row(r["name"], when(r["created_at"]))
    console.print(table)


@keys.command("revoke")
def keys_revoke(name: str, data_dir: DataDir) -> None:
    """Revoke an API key by name."""
    with open_hub(data_dir) as hub:
        hub.keys.revoke(name)
    console.print(f"revoked {name}")


__all__ = ["dlq", "events", "exceptions", "fail", "keys", "replay", "status"]
