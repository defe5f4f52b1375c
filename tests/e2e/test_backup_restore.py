"""Backup while the hub ingests, restore, and resend: nothing lost, nothing doubled (issue #13 item 7).

A real `plantwire serve` takes one plant's day from a sender thread posting batches to
POST /v1/events without pause. While it sends, `plantwire backup` copies the data directory; the
sender goes on to the end. `plantwire restore` brings the archive back into a new directory, and:

- the restored journal is a prefix of the original: the same (seq, source, id, digest) rows, in
  order, up to its head, which lies strictly between what was acknowledged before the backup began
  and everything sent (the copy was taken while events went in);
- every subscriber's position is at most the restored head, and its effects are exactly those of
  the events up to its position: tally.events holds one count for each of them and nothing else,
  the inventory balances are what those events say (computed here from the events), and each
  subscriber's delivered count is the number of events it takes up to its position;
- a hub started on the restored directory, sent again everything the sender sent from a little
  before the backup began (a sender resends what it cannot prove reached the restored state),
  answers duplicate (same seq) for what the copy holds and accepted for the rest, at the seq the
  original gave it; once drained, its journal, balances and per-subscriber counts equal the
  original's, and tally.events is 1 for every event: redelivery after a restore doubles nothing.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson

from plantwire.simulators.scenario import plant_day

from .conftest import HubFactory
from .hubs import Event, HubProcess, Identity, as_batch, free_port, identity, run_cli, stock_deltas

PLANT = "1000"
ORDERS = 700  # about 6,500 events
BATCH = 10
BACKUP_AFTER = 0.3  # of the requests acknowledged


@dataclass
class Sender:
    """Posts every batch in order until a 202 each, and records when each was acknowledged."""

    hub: HubProcess
    batches: list[list[Event]]
    acked: int = 0
    seq: dict[Identity, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        with self.hub.client(timeout=30.0) as client:
            for batch in self.batches:
                if self.stop.is_set():
                    return
                try:
                    results = post(client, batch)
                except AssertionError as exc:
                    self.errors.append(str(exc))
                    return
                with self.lock:
                    for ev, res in zip(batch, results, strict=True):
                        self.seq[identity(ev)] = res["seq"]
                    self.acked += 1


def post(client: httpx.Client, batch: list[Event]) -> list[dict[str, Any]]:
    """One batch request until it gets a 202; its results."""
    headers, body = as_batch(batch)
    for _ in range(100):
        response = client.post("/v1/events", content=body, headers=headers)
        if response.status_code == 202:
            results: list[dict[str, Any]] = response.json()["results"]
            assert len(results) == len(batch), results
            return results
        assert response.status_code == 503, f"{response.status_code}: {response.text[:300]}"
        time.sleep(0.05)
    raise AssertionError("a batch got no 202 in 100 attempts")


def journal(hub: HubProcess) -> list[tuple[Any, ...]]:
    """(seq, source, event_id, digest) of every journal row."""
    import sqlite3

    conn = sqlite3.connect(f"file:{hub.data_dir / 'journal.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT seq, source, event_id, digest FROM journal ORDER BY seq").fetchall()
    finally:
        conn.close()


def books(data_dir: Path) -> dict[str, Any]:
    """Head, positions, delivered counts, tally.events and balances, read through the hub's code."""
    from plantwire.bootstrap import Settings, bootstrap
    from plantwire.projections.inventory import BALANCES
    from plantwire.projections.tally import EVENTS, SEP

    hub = bootstrap(Settings(data_dir=data_dir))
    try:
        status = hub.queries.status()
        with hub.state.transaction() as tx:
            tally = {tuple(k.split(SEP, 1)): Decimal(str(v)) for k, v in tx.scan(EVENTS)}
            balances = {k: Decimal(str(v)) for k, v in tx.scan(BALANCES)}
    finally:
        hub.close()
    return {"head": status["journal_head"], "open_dead_letters": status["dead_letters_open"],
            "subs": status["subscribers"], "tally": tally,
            "balances": {k: v for k, v in balances.items() if v != 0}}


def balances_of(events: list[Event]) -> dict[str, Decimal]:
    """Stock per bucket as the events say, computed here from their business meaning."""
    out: Counter[str] = Counter()
    for ev in events:
        for key, delta in stock_deltas(ev):
            out[key] += delta  # type: ignore[assignment]
    return {k: Decimal(v) for k, v in out.items() if v != 0}


def check_restored(restored: dict[str, Any], by_seq: dict[int, Event]) -> None:
    """Positions within the head, and each subscriber's effects exactly those up to its position."""
    head = restored["head"]
    assert restored["open_dead_letters"] == 0
    for name, sub in restored["subs"].items():
        assert 0 < sub["position"] <= head, (name, sub, head)
        assert sub["retrying"] == sub["dead"] == sub["blocked"] == 0, (name, sub)
    tally_pos = restored["subs"]["tally"]["position"]
    upto = [by_seq[s] for s in range(1, tally_pos + 1)]
    assert restored["tally"] == {identity(ev): Decimal(1) for ev in upto}
    assert restored["subs"]["tally"]["delivered"] == tally_pos
    inv_pos = restored["subs"]["inventory"]["position"]
    inv_events = [by_seq[s] for s in range(1, inv_pos + 1)]
    assert restored["balances"] == balances_of(inv_events)
    assert restored["subs"]["inventory"]["delivered"] == sum(bool(stock_deltas(e)) for e in inv_events)


def test_backup_while_ingesting_then_restore_and_resend(hub_factory: HubFactory, tmp_path: Path) -> None:
    events = list(plant_day(PLANT, orders=ORDERS, seed=5))
    batches = [events[i:i + BATCH] for i in range(0, len(events), BATCH)]
    original = hub_factory()
    sender = Sender(original, batches)
    thread = threading.Thread(target=sender.run, name="sender")
    archive = tmp_path / "backup.tar.gz"
    restored_hub: HubProcess | None = None
    try:
        thread.start()
        while sender.acked < len(batches) * BACKUP_AFTER and thread.is_alive():
            time.sleep(0.01)
        acked_before = sender.acked
        started = time.monotonic()
        made = run_cli("backup", "--data-dir", str(original.data_dir), str(archive))
        backup_seconds = time.monotonic() - started
        acked_after = sender.acked
        thread.join(timeout=240)
        assert not thread.is_alive() and not sender.errors, sender.errors[:3]
        assert acked_after < len(batches), "the sender finished before the backup did: not online"
        assert acked_after > acked_before, "nothing was ingested while the backup ran"
        original.wait_drained(timeout=120)
        original.stop()
        before = books(original.data_dir)
        rows = journal(original)
        assert len(rows) == len(events) == before["head"]

        new_dir = tmp_path / "restored"
        shown = run_cli("restore", str(archive), "--data-dir", str(new_dir)).stdout
        restored_hub = HubProcess(new_dir, free_port(), original.token, tmp_path / "restored.log")
        cut = journal(restored_hub)
        assert cut == rows[:len(cut)], "the restored journal must be a prefix of the original"
        assert acked_before * BATCH <= len(cut) < len(events), (acked_before, len(cut))
        assert f"journal head #{len(cut)}" in shown, shown
        by_seq = {seq: ev for ev, seq in ((ev, sender.seq[identity(ev)]) for ev in events)}
        restored = books(new_dir)
        assert restored["head"] == len(cut)
        check_restored(restored, by_seq)

        restored_hub.start()
        resend = batches[max(0, acked_before - 5):]
        statuses: Counter[str] = Counter()
        with restored_hub.client() as client:
            for batch in resend:
                for ev, res in zip(batch, post(client, batch), strict=True):
                    statuses[res["status"]] += 1
                    assert res["seq"] == sender.seq[identity(ev)], (identity(ev), res)
                    assert res["status"] == ("duplicate" if res["seq"] <= len(cut) else "accepted"), res
        restored_hub.wait_drained(timeout=120)
        restored_hub.stop()
        after = books(new_dir)
        assert journal(restored_hub) == rows
        assert after["tally"] == {identity(ev): Decimal(1) for ev in events}
        assert after["balances"] == before["balances"] == balances_of(events)
        assert {n: s["delivered"] for n, s in after["subs"].items()} == \
            {n: s["delivered"] for n, s in before["subs"].items()}
        manifest = orjson.dumps({n: s["position"] for n, s in restored["subs"].items()}).decode()
        print(f"\nbackup of {len(events)} events in {len(batches)} batches: taken in {backup_seconds:.2f}s "
              f"while {acked_after - acked_before} batches were acknowledged; restored head "
              f"#{len(cut)}, positions {manifest}; resent {sum(statuses.values())} events: "
              f"{dict(statuses)}; {made.stdout.splitlines()[0]}")
    finally:
        sender.stop.set()
        thread.join(timeout=60)
        if restored_hub is not None:
            restored_hub.kill()
