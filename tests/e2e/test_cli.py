"""The operator's CLI, driven as a user would, on a data directory fed through the running hub.

One real hub takes a few orders of a plant's day plus two consumptions of components that were
never received. The test then works the CLI in subprocesses against the same data directory
while the hub keeps running: API keys (a revoked key gets 401 from the running hub), the journal
(events tail, events show with per-subscriber delivery state), dead letters (list, show, discard
needs a reason and keeps it, retry before the stock is there fails again, retry after a goods
receipt delivers the event and the one held behind it), replay (dry run, then real, leaving
/v1/inventory identical), status, and the schema registry (export, check, and check failing by
name on an incompatible old contract).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from plantwire.simulators.scenario import event, plant_day, qty

from .hubs import BATCH, HubProcess, identity, run_cli

PLANT = "4000"
AT = datetime(2026, 11, 27, 10, tzinfo=UTC)


def consumption(order_id: str, item: str, amount: int) -> dict[str, Any]:
    return event(f"mes/plant-{PLANT}", f"CONS-{order_id}-1", "production.component.consumed",
                 {"order_id": order_id, "plant": PLANT, "consumption_id": f"{order_id}-1",
                  "item_id": item, "quantity": qty(amount), "storage_location": "RM01",
                  "consumed_at": AT.isoformat()}, AT, PLANT)


def completion(order_id: str, amount: int) -> dict[str, Any]:
    return event(f"mes/plant-{PLANT}", f"COMP-{order_id}-1", "production.goods.completed",
                 {"order_id": order_id, "plant": PLANT, "completion_id": f"{order_id}-1",
                  "item_id": "FG-PUMP-100", "yield_quantity": qty(amount), "scrap_quantity": qty(0),
                  "lot": f"LOT-{order_id}", "storage_location": "FG01", "final": True,
                  "completed_at": AT.isoformat()}, AT, PLANT)


def receipt(n: int, item: str, amount: int) -> dict[str, Any]:
    return event(f"wms/plant-{PLANT}", f"GR-LATE-{n}", "procurement.goods.received",
                 {"receipt_id": f"LATE-{n}", "po_number": f"PO-LATE-{n}", "plant": PLANT,
                  "supplier_id": "SUP-100", "received_at": AT.isoformat(),
                  "lines": [{"line": 1, "po_line": 10, "item_id": item, "quantity": qty(amount),
                             "storage_location": "RM01"}]}, AT, PLANT)


def until(what: str, check: Any, timeout: float = 20.0) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def send(hub: HubProcess, events: list[dict[str, Any]]) -> None:
    with hub.client() as client:
        r = client.post("/v1/events", content=orjson.dumps(events), headers={"content-type": BATCH})
    assert r.status_code == 202, r.text


def delivery(hub: HubProcess, ev: dict[str, Any]) -> dict[str, Any]:
    """Delivery state of the event for the two core subscribers (others may come and go)."""
    shown = hub.cli_json("events", "show", ev["source"], ev["id"])
    assert shown["event"]["id"] == ev["id"]
    return {k: v for k, v in shown["delivery"].items() if k in ("inventory", "tally")}


def inventory(hub: HubProcess) -> dict[str, str]:
    with hub.client() as client:
        return dict(client.get("/v1/inventory").json()["on_hand"])


def test_keys(running_hub: HubProcess) -> None:
    hub = running_hub
    token = hub.cli("keys", "create", "mes-line-2").stdout.strip()
    listed = hub.cli("keys", "list", "--json").stdout
    assert token not in listed, "tokens are shown once, never listed"
    assert {k["name"] for k in orjson.loads(listed)} == {"e2e", "mes-line-2"}
    assert hub.cli("keys", "create", "mes-line-2", check=False).returncode != 0
    with hub.client(token) as client:
        assert client.get("/v1/status").status_code == 200
        hub.cli("keys", "revoke", "mes-line-2")
        assert {k["name"] for k in hub.cli_json("keys", "list")} == {"e2e"}
        until("the running hub to refuse the revoked key",
              lambda: client.get("/v1/status").status_code == 401, timeout=10)
        r = client.post("/v1/events", content=b"{}", headers={"content-type": BATCH})
        assert r.status_code == 401 and r.json()["error"]["rule"] == "unauthorized"
    again = hub.cli("keys", "revoke", "mes-line-2", check=False)
    assert again.returncode != 0 and "mes-line-2" in again.stderr
    with hub.client() as client:  # the other key is untouched
        assert client.get("/v1/status").status_code == 200


def test_operator_workflow(running_hub: HubProcess, tmp_path: Path) -> None:  # noqa: C901
    hub = running_hub
    day = list(plant_day(PLANT, orders=4, seed=9))
    short_a, after_a = consumption("7000001", "RM-GASKET-X", 12), completion("7000001", 5)
    short_b, after_b = consumption("7000002", "RM-GASKET-Y", 3), completion("7000002", 2)
    send(hub, day)
    send(hub, [short_a, after_a, short_b, after_b])
    status = hub.wait_drained()
    head = status["journal_head"]
    assert head == len(day) + 4

    # events tail / show
    tail = hub.cli_json("events", "tail", "-n", "3")
    assert [e["seq"] for e in tail] == [head - 2, head - 1, head]
    assert [e["event"]["id"] for e in tail] == [after_a["id"], short_b["id"], after_b["id"]]
    seq_a = tail[0]["seq"] - 1
    d = delivery(hub, short_a)
    assert d["inventory"]["state"] == "dead-lettered" and d["tally"]["state"] == "delivered"
    assert d["inventory"]["error_class"].endswith("BusinessRuleViolation")
    assert delivery(hub, after_a)["inventory"] == {"state": "blocked", "behind": seq_a}
    gr = next(e for e in day if e["type"] == "procurement.goods.received")
    assert delivery(hub, gr) == {"inventory": {"state": "delivered"}, "tally": {"state": "delivered"}}
    assert delivery(hub, day[0]) == {"tally": {"state": "delivered"}}, "not an inventory type"
    missing = hub.cli("events", "show", "nobody", "nothing", "--json", check=False)
    assert missing.returncode == 1 and "no event" in missing.stderr

    # dlq list / show
    letters = {(x["source"], x["event_id"]): x for x in hub.cli_json("dlq", "list")}
    assert set(letters) == {identity(short_a), identity(short_b)}
    letter_a, letter_b = letters[identity(short_a)], letters[identity(short_b)]
    assert letter_a["subscriber"] == "inventory" and letter_a["status"] == "open"
    assert letter_a["error_class"].endswith("BusinessRuleViolation")
    assert "insufficient stock of RM-GASKET-X" in letter_a["error_message"]
    assert letter_a["blocking"] == 1 and letter_a["seq"] == seq_a
    shown = hub.cli_json("dlq", "show", str(letter_a["id"]))
    assert shown["event"]["id"] == short_a["id"] and shown["event"]["data"]["item_id"] == "RM-GASKET-X"
    assert shown["blocked_seqs"] == [seq_a + 1]
    assert "RM-GASKET-X" in hub.cli("dlq", "show", str(letter_a["id"])).stdout

    # dlq discard: a reason is required, and kept
    id_b = str(letter_b["id"])
    refused = hub.cli("dlq", "discard", id_b, check=False)
    assert refused.returncode != 0 and "--reason" in refused.stderr + refused.stdout
    assert hub.cli_json("dlq", "show", id_b)["status"] == "open"
    reason = "gasket Y booked on the wrong order; order 7000002 re-issued"
    discarded = hub.cli_json("dlq", "discard", id_b, "--reason", reason)
    assert discarded["status"] == "discarded" and discarded["reason"] == reason
    assert hub.cli_json("dlq", "show", id_b)["reason"] == reason
    assert [x["id"] for x in hub.cli_json("dlq", "list")] == [letter_a["id"]]
    every = {x["id"]: x for x in hub.cli_json("dlq", "list", "--status", "all")}
    assert every[letter_b["id"]]["status"] == "discarded" and every[letter_b["id"]]["reason"] == reason
    assert hub.cli("dlq", "discard", id_b, "--reason", "again", check=False).returncode != 0
    until("the event held behind the discarded one to be delivered",
          lambda: delivery(hub, after_b)["inventory"]["state"] == "delivered")

    # dlq retry: without stock it fails again and is back open; after a receipt it delivers
    id_a = str(letter_a["id"])
    assert hub.cli_json("dlq", "retry", id_a)["status"] == "retrying"
    again = until("the retried dead letter to fail again",
                  lambda: (x := hub.cli_json("dlq", "show", id_a))["status"] == "open" and x)
    assert again["retries"] == 1 and again["attempts"] == 2
    send(hub, [receipt(1, "RM-GASKET-X", 20), receipt(2, "RM-GASKET-Y", 50)])
    hub.wait_drained()
    assert hub.cli_json("dlq", "retry", id_a)["status"] == "retrying"
    until("the dead letter to be delivered after the receipt",
          lambda: delivery(hub, short_a)["inventory"]["state"] == "delivered")
    assert delivery(hub, after_a)["inventory"]["state"] == "delivered"
    assert hub.cli_json("dlq", "show", id_a)["status"] == "resolved"
    assert hub.cli_json("dlq", "list") == []
    stock = inventory(hub)
    assert Decimal(stock[f"{PLANT}|RM-GASKET-X|RM01||EA"]) == 20 - 12
    assert Decimal(stock[f"{PLANT}|RM-GASKET-Y|RM01||EA"]) == 50, "discarded: never applied"
    assert Decimal(stock[f"{PLANT}|FG-PUMP-100|FG01|LOT-7000001|EA"]) == 5

    # status
    st = hub.cli_json("status")
    inv = st["subscribers"]["inventory"]
    assert st["journal_head"] == head + 2 and st["dead_letters_open"] == 0
    assert (inv["lag"], inv["dead"], inv["blocked"], inv["retrying"], inv["discarded"]) == \
        (0, 0, 0, 0, 1)
    assert st["subscribers"]["tally"]["delivered"] == head + 2
    assert "journal head" in hub.cli("status").stdout

    # replay: dry run counts, real run rebuilds, /v1/inventory is identical
    inventory_events = sum(1 for e in hub.journal_rows() if e[3] in {
        "production.goods.completed", "production.component.consumed",
        "inventory.transferred", "procurement.goods.received"})
    dry = hub.cli_json("replay", "--subscriber", "inventory", "--dry-run")
    assert dry["dry_run"] is True and dry["replayed"] == 0
    assert dry["selected"] == inventory_events - 1, "all but the discarded consumption"
    assert inventory(hub) == stock
    real = hub.cli_json("replay", "--subscriber", "inventory")
    assert real["replayed"] == dry["selected"] and real["by_type"] == dry["by_type"]
    assert real.get("skipped_discarded", 1) == 1
    assert inventory(hub) == stock
    assert hub.cli_json("replay", "--subscriber", "tally")["replayed"] == head + 2
    assert hub.cli("replay", "--subscriber", "nobody", check=False).returncode == 1

    hub.stop()
    assert set(hub.tally().values()) == {Decimal(1)}


def test_schema_export_and_check(tmp_path: Path) -> None:
    exported = tmp_path / "contracts-v1"
    run_cli("schema", "export", str(exported))
    files = sorted(exported.glob("*.json"))
    assert len(files) >= 10
    ok = run_cli("schema", "check", str(exported))
    assert "compatible" in ok.stdout

    target = exported / "inventory.transferred.v1.json"
    original = target.read_bytes()
    doc = orjson.loads(original)
    # An older contract had a field the current one no longer has: senders may still send it.
    doc["properties"]["legacy_bin"] = {"type": "string"}
    target.write_bytes(orjson.dumps(doc))
    removed = run_cli("schema", "check", str(exported), check=False)
    assert removed.returncode != 0
    assert "legacy_bin" in removed.stdout and "field-removed" in removed.stdout

    # An older contract lacked a field the current one requires: old senders do not send it.
    doc = orjson.loads(original)
    del doc["properties"]["transfer_id"]
    doc["required"].remove("transfer_id")
    target.write_bytes(orjson.dumps(doc))
    now_required = run_cli("schema", "check", str(exported), check=False)
    assert now_required.returncode != 0
    assert "transfer_id" in now_required.stdout and "field-now-required" in now_required.stdout

    target.write_bytes(original)
    assert run_cli("schema", "check", str(exported)).returncode == 0
