"""The Tryton source: polls purchases, productions and supplier shipments by modification time.

Tryton has no outbound webhooks. Each model is read with ``modified >= since - overlap`` (modified =
write_date, or create_date for a record never written), ordered by (modified, id). The overlap window
re-reads recent records, so a transaction that committed late with an earlier timestamp (or a clock
that stepped back) is still seen; records sharing one timestamp are all re-read. The events already
handed over within the window are remembered by identity and not sent again (the journal would drop
them anyway: identities are deterministic). ``since``, the remembered identities and the `floor` (the
first start: history before it is not replayed) are written in one StateStore transaction after
``Intake.accept`` returned: no gap and no repeat across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plantwire.adapters.simfeed import KEPT, QUARANTINE, WATERMARKS, backoff
from plantwire.adapters.tryton import translate as t
from plantwire.adapters.tryton.client import TrytonClient
from plantwire.adapters.tryton.mapping import TrytonMapping
from plantwire.errors import InvalidEvent, PermanentError, RetryableError
from plantwire.ports import Intake, StateStore

log = logging.getLogger("plantwire.adapters.tryton")
Json = dict[str, Any]
SYSTEM = "tryton"
MODELS = ("purchase.purchase", "production", "stock.shipment.in")
STATES = {"purchase.purchase": ["processing", "done"], "production": ["waiting", "assigned"],
          "stock.shipment.in": ["done"]}


@dataclass(frozen=True)
class PollResult:
    """What one poll of every model did."""

    read: int
    emitted: int
    accepted: int
    duplicates: int
    quarantined: int


def _stamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


class TrytonSource:
    """Polls one Tryton database and hands canonical CloudEvents to the intake."""

    def __init__(self, client: TrytonClient, mapping: TrytonMapping, intake: Intake, state: StateStore, *,
                 name: str = "tryton", interval: float = 1.0, overlap: float = 120.0, batch: int = 200,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        self.client, self.mapping, self.intake, self.state = client, mapping, intake, state
        self.name, self.system, self.base_url = name, SYSTEM, client.endpoint
        self.interval, self.overlap, self.batch = interval, dt.timedelta(seconds=overlap), batch
        self._now = now or (lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None))

    # -- durable position -------------------------------------------------------------------------
    def position(self, model: str) -> Json:
        """{"floor", "since", "ids"} of one model (the floor set at the very first poll)."""
        with self.state.transaction() as tx:
            pos = tx.get(WATERMARKS, f"{self.name}:{model}")
            if pos is None:
                pos = {"floor": self._now().isoformat(), "since": None, "ids": {}}
                tx.put(WATERMARKS, f"{self.name}:{model}", pos)
        return dict(pos)

    def watermark(self) -> int:
        """Events handed over and still remembered in the overlap windows (for status pages)."""
        return sum(len(self.position(m)["ids"]) for m in MODELS)

    def quarantined(self) -> list[Json]:
        """What the source could not translate or the hub refused, with the issues."""
        with self.state.transaction() as tx:
            return [v for _, v in tx.scan(QUARANTINE, prefix=f"{self.name}:")]

    # -- reading ----------------------------------------------------------------------------------
    def _changed(self, model: str, pos: Json) -> list[Json]:
        start = _stamp(pos["floor"])
        if pos["since"]:
            start = max(start, _stamp(pos["since"]) - self.overlap)
        domain: list[Any] = [["state", "in", STATES[model]],
                             ["OR", ["write_date", ">=", start],
                              [["write_date", "=", None], ["create_date", ">=", start]]]]
        fields = {"purchase.purchase": ["number", "state", "party.code", "warehouse.code", "currency.code",
                                        "purchase_date", "lines"],
                  "production": ["number", "state", "product.code", "unit.symbol", "quantity",
                                 "warehouse.code", "planned_date", "planned_start_date"],
                  "stock.shipment.in": ["number", "state", "reference", "supplier.code", "warehouse.code",
                                        "incoming_moves", "inventory_moves"]}[model]
        rows = self.client.search_read(model, domain, ["id", "write_date", "create_date", *fields],
                                       order=[["write_date", "ASC"], ["id", "ASC"]], limit=self.batch)
        return sorted(rows, key=lambda r: (t.modified(r), r["id"]))

    def _translate(self, model: str, record: Json) -> Json | None:
        m = self.mapping
        if model == "purchase.purchase":
            lines = self.client.search_read("purchase.line", [["purchase", "=", record["id"]],
                                                              ["type", "=", "line"]],
                                            ["id", "product.code", "unit.symbol", "quantity", "unit_price",
                                             "delivery_date"])
            return t.po_approved(record, lines, m)
        if model == "production":
            inputs = self.client.search_read("stock.move", [["production_input", "=", record["id"]]],
                                             ["id", "state", "quantity", "product.code", "unit.symbol",
                                              "from_location.code"])
            return t.order_released(record, inputs, m)
        if str(record.get("reference") or "").startswith(t.MARK):
            return None  # the hub's own receipt: posting it back as an event would echo
        return self._shipment(record)

    def _shipment(self, record: Json) -> Json | None:
        fields = ["id", "quantity", "product.code", "unit.symbol", "to_location.code", "origin"]
        incoming = self.client.search_read("stock.move", [["id", "in", record["incoming_moves"]]], fields)
        stored = self.client.search_read("stock.move", [["id", "in", record["inventory_moves"]]], fields)
        where = {mv["product."]["code"]: mv["to_location."] for mv in stored}
        line_ids = [int(str(mv["origin"]).split(",")[1]) for mv in incoming
                    if str(mv.get("origin") or "").startswith("purchase.line,")]
        lines = self.client.search_read("purchase.line", [["id", "in", line_ids]],
                                        ["id", "purchase.number", "purchase.lines"])
        purchases = {ln["id"]: {"number": ln["purchase."]["number"], "lines": ln["purchase."]["lines"]}
                     for ln in lines}
        moves = []
        for mv in incoming:
            origin = str(mv.get("origin") or "")
            line_id = int(origin.split(",")[1]) if origin.startswith("purchase.line,") else None
            moves.append({**mv, "purchase_line": line_id,
                          "to_location.": where.get(mv["product."]["code"], mv["to_location."])})
        return t.goods_received(record, moves, purchases, self.mapping)

    # -- one poll ---------------------------------------------------------------------------------
    async def poll_once(self) -> PollResult:
        """Read every model's changes after its position, hand them over, then move the positions."""
        totals = [0, 0, 0, 0, 0]
        for model in MODELS:
            for n, v in enumerate(await self._poll_model(model)):
                totals[n] += v
        return PollResult(*totals)

    async def _poll_model(self, model: str) -> tuple[int, int, int, int, int]:
        pos = self.position(model)
        rows = await asyncio.to_thread(self._changed, model, pos)
        seen: dict[str, str] = dict(pos["ids"])
        batch: list[tuple[Json, Json]] = []
        quarantine: dict[str, Json] = {}
        for record in rows:
            try:
                event = await asyncio.to_thread(self._translate, model, record)
            except PermanentError as error:
                self._quarantine(quarantine, model, record, None, [_issue(error)])
                continue
            if event is not None and event["id"] not in seen:
                batch.append((record, event))
        receipts = list(await self.intake.accept([e for _, e in batch])) if batch else []
        accepted = duplicates = 0
        for (record, event), receipt in zip(batch, receipts, strict=True):
            status = receipt.get("status")
            accepted += status == "accepted"
            duplicates += status == "duplicate"
            if status not in KEPT:
                self._quarantine(quarantine, model, record, event, receipt.get("errors") or [receipt])
        for record, event in batch:
            seen[event["id"]] = t.modified(record).isoformat()
        self._commit(model, pos, rows, seen, quarantine)
        return len(rows), len(batch), accepted, duplicates, len(quarantine)

    def _commit(self, model: str, pos: Json, rows: list[Json], seen: dict[str, str],
                quarantine: dict[str, Json]) -> None:
        since = pos["since"]
        if rows:
            newest = t.modified(rows[-1]).isoformat()
            since = newest if since is None or newest > since else since
        keep_from = (_stamp(since) - self.overlap).isoformat() if since else ""
        with self.state.transaction() as tx:
            for key, item in quarantine.items():
                tx.put(QUARANTINE, key, item)
            tx.put(WATERMARKS, f"{self.name}:{model}",
                   {"floor": pos["floor"], "since": since,
                    "ids": {k: v for k, v in seen.items() if v >= keep_from}})

    def _quarantine(self, into: dict[str, Json], model: str, record: Json, event: Json | None,
                    issues: list[Any]) -> None:
        key = f"{self.name}:{model}:{record['id']:09d}:{t.modified(record).isoformat()}"
        into[key] = {"source": self.name, "model": model, "record_id": record["id"],
                     "cloud_event": event, "issues": issues}
        log.warning("%s: quarantined %s %s: %s", self.name, model, record["id"], issues)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; back off while Tryton or the intake is unavailable."""
        attempt = 0
        while not stop.is_set():
            try:
                await self.poll_once()
                attempt, delay = 0, self.interval
            except RetryableError as error:
                attempt += 1
                delay = backoff(attempt)
                log.warning("%s: poll failed (try %d), next in %.1fs: %s", self.name, attempt, delay, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)


def _issue(error: PermanentError) -> Json:
    if isinstance(error, InvalidEvent):
        return error.issues[0].as_dict()
    return {"path": "$", "rule": type(error).__name__, "message": str(error)}


def tryton_source(client: TrytonClient, mapping: TrytonMapping, intake: Intake, state: StateStore,
                  **options: Any) -> TrytonSource:
    """A durable poller over one Tryton database."""
    return TrytonSource(client, mapping, intake, state, **options)
