"""Record Tryton answers for the offline translate tests (tests/tryton/recorded/*.json).

Run against the live rig (bash ../shared/rigs/tryton/serve.sh first), from the repository root:

    .venv/bin/python tests/tryton/record_payloads.py

Each file holds one record as the source's poll read it and every `search_read` the source made to
translate it, in Tryton's wire format (dates and Decimals as ``{"__class__": ...}``), so the tests
replay exactly what Tryton answered.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from plantwire.adapters.tryton.client import TrytonClient, encode

OUT = Path(__file__).parent / "recorded"
FIELDS = {
    "purchase.purchase": ["number", "state", "party.code", "warehouse.code", "currency.code", "purchase_date",
                          "lines"],
    "production": ["number", "state", "product.code", "unit.symbol", "quantity", "warehouse.code",
                   "planned_date", "planned_start_date"],
    "stock.shipment.in": ["number", "state", "reference", "supplier.code", "warehouse.code", "incoming_moves",
                          "inventory_moves"],
}


class Recorder:
    """A client wrapper that keeps every search_read answer."""

    def __init__(self, client: TrytonClient) -> None:
        self.client, self.reads = client, []  # type: ignore[var-annotated]

    def search_read(self, model: str, domain: list[Any], fields: list[str],
                    **kw: Any) -> list[dict[str, Any]]:
        rows = self.client.search_read(model, domain, fields, **kw)
        self.reads.append({"model": model, "domain": domain, "fields": fields, "result": encode(rows)})
        return rows


def record(client: TrytonClient, name: str, model: str, domain: list[Any]) -> None:
    from plantwire.adapters.tryton.source import TrytonSource

    row = client.search_read(model, domain, ["id", "write_date", "create_date", *FIELDS[model]],
                             order=[["id", "DESC"]], limit=1)[0]
    rec = Recorder(client)
    source = TrytonSource.__new__(TrytonSource)
    source.client = rec  # type: ignore[assignment]
    source.mapping = None  # type: ignore[assignment]  # reads only: translation happens in the tests
    with contextlib.suppress(Exception):  # only the reads matter here
        source._translate(model, row)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps({"model": model, "record": encode(row), "reads": rec.reads},
                                                 indent=1, sort_keys=True) + "\n")
    print(f"recorded {name}: {model} {row['id']} ({len(rec.reads)} reads)")


def main() -> None:
    env = dict(line.split("=", 1) for line in Path("/tmp/tryton-db/server.env").read_text().split())
    client = TrytonClient(env["TRYTON_URL"], "plant", "hub", "hub-integration-2024")
    client.login()
    record(client, "purchase_processing", "purchase.purchase", [["state", "=", "processing"]])
    record(client, "production_assigned", "production", [["state", "=", "assigned"]])
    record(client, "production_waiting", "production", [["state", "=", "waiting"]])
    record(client, "shipment_in_done", "stock.shipment.in",
           [["state", "=", "done"], ["reference", "not like", "PW:%"]])
    record(client, "shipment_in_hub", "stock.shipment.in",
           [["state", "=", "done"], ["reference", "like", "PW:%"]])
    client.close()


if __name__ == "__main__":
    sys.exit(main())
