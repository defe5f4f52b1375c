"""Upgrades lose nothing (issue #13 item 6), through the real CLI in subprocesses.

tests/fixtures/datadir_v1 holds a hub's and an edge agent's data directories written at 83dcaf6,
before the SQLite files had schema versions. `plantwire db upgrade --data-dir` on a copy must leave
every row where it was (expected.json: every journal row, every state row by namespace, which hold
the positions, flow instances, timers and dead letters, and the operator's view read through the
hub), stamp every file with the latest version, and do nothing the second time. A file newer than
the code is refused by serve, the edge agent and the upgrade itself, with the reason and no traceback.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from fixtures.datadir_snapshot import snapshot

from plantwire.journal.sqlite_schema import JOURNAL, OUTBOX, STATE

from .hubs import PLANTWIRE, HubProcess, free_port, run_cli

FIXTURE = Path(__file__).parents[1] / "fixtures" / "datadir_v1"


def user_version(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def as_json(value: Any) -> Any:
    """The snapshot as expected.json holds it (tuples become lists)."""
    return json.loads(json.dumps(value, sort_keys=True))


def test_db_upgrade_keeps_every_row_of_a_v1_data_dir(tmp_path: Path) -> None:
    root = tmp_path / "datadir"
    shutil.copytree(FIXTURE, root)
    expected = json.loads((FIXTURE / "expected.json").read_text())
    files = [root / "hub" / "journal.db", root / "hub" / "state.db", root / "edge" / "outbox.db"]
    assert [user_version(f) for f in files] == [0, 0, 0], "the fixture must be unversioned"

    hub_out = run_cli("db", "upgrade", "--data-dir", str(root / "hub")).stdout
    edge_out = run_cli("db", "upgrade", "--data-dir", str(root / "edge")).stdout
    assert f"{root / 'hub' / 'journal.db'}: upgraded from 0 to schema version {JOURNAL.latest}" in hub_out
    assert f"{root / 'hub' / 'state.db'}: upgraded from 0 to schema version {STATE.latest}" in hub_out
    assert f"{root / 'edge' / 'outbox.db'}: upgraded from 0 to schema version {OUTBOX.latest}" in edge_out
    assert [user_version(f) for f in files] == [JOURNAL.latest, STATE.latest, OUTBOX.latest]

    got = as_json(snapshot(root))
    assert got["hub"]["journal"] == expected["hub"]["journal"]  # every event, byte for byte
    assert got["hub"]["state"] == expected["hub"]["state"]  # positions, flows, timers, dead letters
    assert got["hub"]["view"] == expected["hub"]["view"]
    assert got["edge"] == expected["edge"]
    flows = {ns: v["count"] for ns, v in got["hub"]["state"].items() if ns.startswith("flow:")}
    assert sum(flows.values()) > 0 and got["hub"]["state"]["timers"]["count"] > 0
    assert got["hub"]["view"]["dead_letters"] and got["hub"]["view"]["positions"]

    again = run_cli("db", "upgrade", "--data-dir", str(root / "hub")).stdout
    assert again.count(f"already at schema version {JOURNAL.latest}") == 2, again
    assert as_json(snapshot(root)) == got

    hub = HubProcess(root / "hub", free_port(), "unused", tmp_path / "serve.log")
    try:
        hub.start()  # today's hub runs on the upgraded directory
    finally:
        hub.stop()


def stamp(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.close()


def refused(*args: str) -> subprocess.CompletedProcess[str]:
    """Run plantwire; it must exit non-zero within the timeout, with no traceback."""
    done = subprocess.run([PLANTWIRE, *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": str(Path(PLANTWIRE).parent), "COLUMNS": "300", "NO_COLOR": "1"})
    assert done.returncode != 0, done
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


def test_a_schema_newer_than_the_code_stops_the_hub_and_the_edge(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    run_cli("keys", "create", "ops", "--data-dir", str(data))
    newer = JOURNAL.latest + 2
    stamp(data / "journal.db", newer)
    message = (f"data dir {data}: journal.db schema version {newer} is newer than this plantwire "
               f"knows ({JOURNAL.latest}); upgrade plantwire")
    serve = refused("serve", "--data-dir", str(data), "--port", str(free_port()))
    assert message in " ".join(serve.stderr.split()), serve.stderr
    assert message in " ".join(refused("db", "upgrade", "--data-dir", str(data)).stderr.split())
    assert message in " ".join(refused("keys", "list", "--data-dir", str(data)).stderr.split())
    assert user_version(data / "journal.db") == newer  # refused, not rewritten

    edge = tmp_path / "edge"
    edge.mkdir()
    conn = sqlite3.connect(edge / "outbox.db")
    conn.executescript("CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);")
    conn.close()
    stamp(edge / "outbox.db", OUTBOX.latest + 1)
    agent = refused("edge", "--hub", "http://127.0.0.1:9", "--data-dir", str(edge),
                    "--port", str(free_port()))
    said = " ".join(agent.stderr.split())
    assert f"outbox.db schema version {OUTBOX.latest + 1} is newer" in said, agent.stderr
