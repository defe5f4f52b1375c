"""`plantwire demo`: a real hub process, one plant's day of events over HTTP, and the outcome.

The day includes what real integrations see: the MES resending events it is unsure about, an
event with a broken quantity (refused with 422 and the reason), and a consumption booked against
a storage location that holds no stock (accepted, then dead-lettered by the inventory projection,
holding up that order's later events until a person fixes it).
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from plantwire.cli.common import console
from plantwire.simulators.scenario import EVENTS_PER_ORDER, plant_day

BATCH = "application/cloudevents-batch+json"
SINGLE = "application/cloudevents+json"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script() -> str:
    return str(Path(sys.executable).parent / "plantwire")


def start_hub(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """`plantwire serve` as a child process, once /healthz answers."""
    proc = subprocess.Popen([_script(), "serve", "--data-dir", str(data_dir), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hub exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("hub did not answer /healthz within 30 s")


def day_with_trouble(events: int, seed: int = 7) -> list[dict[str, Any]]:
    """The plant's day plus a broken event, a consumption from an empty location, and resends."""
    rng = random.Random(seed)
    day = list(plant_day("1000", max(2, events // EVENTS_PER_ORDER), seed))
    consumptions = [e for e in day if e["type"] == "production.component.consumed"]
    consumptions[len(consumptions) // 2]["data"]["storage_location"] = "RM99"
    broken = dict(day[3], id=day[3]["id"] + "/typo")
    broken["data"] = {**broken["data"], "quantity": {"value": "12,5", "uom": ""}}
    day.insert(len(day) // 3, broken)
    resends = [dict(e) for e in rng.sample(day, len(day) // 10)]
    for e in resends:
        day.insert(min(len(day), day.index(e) + rng.randint(1, 20)), e)
    return day


def send_all(client: httpx.Client, day: list[dict[str, Any]], progress: Progress) -> Counter[str]:
    """ERP and WMS events in batches of up to 25, MES and others one by one, in order."""
    task = progress.add_task("sending events", total=len(day))
    counts: Counter[str] = Counter()
    i = 0
    while i < len(day):
        src = day[i]["source"]
        if src.startswith(("erp/", "wms/")):
            j = i
            while j < len(day) and j - i < 25 and day[j]["source"] == src:
                j += 1
            chunk = day[i:j]
            resp = client.post("/v1/events", json=chunk, headers={"content-type": BATCH})
        else:
            chunk = day[i : i + 1]
            resp = client.post("/v1/events", json=chunk[0], headers={"content-type": SINGLE})
        counts["requests"] += 1
        counts[f"http {resp.status_code}"] += 1
        for r in resp.json().get("results", []):
            counts[r["status"]] += 1
            if r["status"] in ("accepted", "duplicate"):
                counts["acked:" + r["source"] + "\x1f" + r["id"]] = 1
        i += len(chunk)
        progress.advance(task, len(chunk))
    return counts


def wait_drained(client: httpx.Client, timeout: float = 60) -> dict[str, Any]:
    """The hub's status once every subscriber has caught up and nothing is retrying."""
    deadline = time.monotonic() + timeout
    while True:
        st: dict[str, Any] = client.get("/v1/status").json()
        subs = st["subscribers"].values()
        if all(s["lag"] == 0 and s["retrying"] == 0 for s in subs) or time.monotonic() > deadline:
            return st
        time.sleep(0.1)


def journal_identities(client: httpx.Client) -> set[str]:
    """Every (source, id) in the journal, paged through the API."""
    found: set[str] = set()
    after = 0
    while True:
        page = client.get("/v1/events", params={"after": after, "limit": 1000}).json()["events"]
        if not page:
            return found
        found.update(e["event"]["source"] + "\x1f" + e["event"]["id"] for e in page)
        after = page[-1]["seq"]


def report(counts: Counter[str], st: dict[str, Any], lost: int, sent: int, seconds: float) -> None:
    """The summary table."""
    table = Table(title="plantwire demo: plant 1000, one day", show_lines=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    dead = sum(s["dead_lettered"] for s in st["subscribers"].values())
    blocked = sum(s["blocked"] for s in st["subscribers"].values())
    rows = [("events sent (incl. resends)", sent), ("HTTP requests", counts["requests"]),
            ("accepted into the journal", counts["accepted"]),
            ("duplicates dropped (resends)", counts["duplicate"]),
            ("rejected with 422 (bad data)", counts["rejected"])]
    rows += [(f"delivered to {n}", s["delivered"]) for n, s in st["subscribers"].items()]
    rows += [("dead-lettered", dead), ("held behind a dead letter", blocked),
             ("lost", lost)]
    for what, n in rows:
        style = "bold red" if what == "lost" and n else ("bold green" if what == "lost" else "")
        table.add_row(what, f"[{style}]{n}[/]" if style else str(n))
    console.print(table)
    console.print(f"{sent} events in {seconds:.1f} s ({sent / seconds:.0f} events/s, each fsync'd "
                  "before its 202)")


def run_demo(events: int, port: int, keep: Path | None) -> int:
    """Run the demo; exit code 0 when nothing was lost."""
    from plantwire.bootstrap import Settings, bootstrap

    tmp = None if keep else tempfile.TemporaryDirectory(prefix="plantwire-demo-")
    data_dir = keep or Path(tmp.name)  # type: ignore[union-attr]
    hub = bootstrap(Settings(data_dir=data_dir))
    token = hub.keys.create(f"demo-{int(time.time())}")
    hub.close()
    port = port or free_port()
    console.print(f"starting hub on http://127.0.0.1:{port} with data in {data_dir}")
    proc = start_hub(data_dir, port)
    try:
        day = day_with_trouble(events)
        started = time.monotonic()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"authorization": f"Bearer {token}"}) as client:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as progress:
                counts = send_all(client, day, progress)
            st = wait_drained(client)
            seconds = time.monotonic() - started
            acked = {k[6:] for k in counts if k.startswith("acked:")}
            lost = len(acked - journal_identities(client))
            report(counts, st, lost, len(day), seconds)
            for d in client.get("/v1/dead-letters").json()["dead_letters"]:
                console.print(f"[yellow]dead letter {d['id']}[/] ({d['subscriber']}, {d['type']} "
                              f"{d['source']} {d['event_id']}): {d['error_message']}; "
                              f"holding up {d['blocking']} later event(s) of key {d['key']}")
        if keep:
            console.print(f"look closer: plantwire dlq list --data-dir {data_dir}")
        return 0 if lost == 0 else 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if tmp is not None:
            tmp.cleanup()
