"""The supplier portal's EDI channel: X12 850s in, 997s and 855s out, beside the JSON API.

``POST /edi/inbound`` takes one interchange. Each 850 becomes an order exactly as if it had come
through ``POST /api/purchase-orders`` (same ack rules and delays), and its group is answered with a
997. Received 997s are matched to the 855s they acknowledge. When an order that came by EDI is
acknowledged, an 855 (BAK, then PO1 + ACK per line with IA / IC / IR) is queued. Outbound documents
are served on ``GET /edi/outbound?after=N`` with a monotonic ``seq`` (like ``/events``).

An interchange is taken once per sender and ISA13 control number: a resend after a lost answer is
a duplicate, not a second order. Test levers (``PUT /admin/edi``): ``failInbound`` answers the next N
inbound posts 500 *after* processing them (the hub must resend, and the resend must not double);
``malformNext855`` writes the next N 855s with a wrong SE01 segment count.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import orjson

from plantwire.simulators import supplier_x12 as x12
from plantwire.simulators.common import SimError, utc_now
from plantwire.simulators.store import Store
from plantwire.simulators.supplier import Json, Supplier

EDI_SCHEMA = """
CREATE TABLE IF NOT EXISTS edi_inbound (id INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL,
  control TEXT NOT NULL, sets TEXT NOT NULL, body TEXT NOT NULL, received REAL NOT NULL,
  UNIQUE (sender, control));
CREATE TABLE IF NOT EXISTS edi_outbound (seq INTEGER PRIMARY KEY AUTOINCREMENT, set_id TEXT NOT NULL,
  isa_control TEXT NOT NULL, gs_control TEXT NOT NULL, st_control TEXT NOT NULL, po TEXT,
  revision INTEGER, body TEXT NOT NULL, created REAL NOT NULL, ack_status TEXT);
CREATE TABLE IF NOT EXISTS edi_orders (po TEXT NOT NULL, revision INTEGER NOT NULL, trading TEXT NOT NULL,
  lines TEXT NOT NULL, PRIMARY KEY (po, revision));
CREATE TABLE IF NOT EXISTS edi_counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""
COUNTERS = ("850_received", "997_sent", "855_sent", "997_received", "rejected", "duplicates")

DEFAULT_EDI: Json = {
    "failInbound": 0,
    "malformNext855": 0,
    "customerParts": {"RM-HOUSING-A": "HSG-A1", "RM-IMPELLER-7": "IMP-7", "RM-SEAL-KIT": "SEAL-9",
                      "RM-MOTOR-2KW": "MOT-2K", "RM-BOLT-M8": "BOLT-M8", "RM-PA6-RESIN": "PA6-25",
                      "RM-CU-CABLE": "CU-15"},
    "units": {"EA": "PCE", "PC": "PCE", "KG": "KGM", "M": "MTR", "MR": "MTR"},
}
"""The buyer's part numbers (PO1 BP) and X12 units as the portal knows them: the supplier's own
customer cross-reference, kept here as the supplier would keep it."""

ACK_CODES = {"ACCEPTED": "IA", "CHANGED": "IC", "REJECTED": "IR"}


class SupplierEdi:
    """The EDI channel on one supplier portal."""

    def __init__(self, sup: Supplier) -> None:
        self.sup, self.store = sup, sup.store
        self.store.conn.executescript(EDI_SCHEMA)
        sup.on_ack.append(self.acknowledged)

    def settings(self) -> Json:
        """The channel's settings in force."""
        return {**DEFAULT_EDI, **self.store.setting("edi", {})}

    def set_settings(self, body: Json) -> Json:
        """Replace the given settings (unknown keys are ignored)."""
        current = self.store.setting("edi", {})
        self.store.set_setting("edi", {**current, **{k: v for k, v in body.items() if k in DEFAULT_EDI}})
        return self.settings()

    def take_lever(self, name: str) -> bool:
        """Use one shot of a counted test lever (failInbound, malformNext855)."""
        left = int(self.settings()[name] or 0)
        if left > 0:
            self.set_settings({name: left - 1})
        return left > 0

    def _count(self, name: str, by: int = 1) -> None:
        self.store.execute("INSERT INTO edi_counters VALUES (?, ?) "
                           "ON CONFLICT (name) DO UPDATE SET n = n + ?", (name, by, by))

    def counts(self) -> Json:
        """The channel's counters for GET /admin/counts."""
        found = {r["name"]: r["n"] for r in self.store.rows("SELECT name, n FROM edi_counters")}
        return {name: int(found.get(name, 0)) for name in COUNTERS}

    # -- inbound -------------------------------------------------------------------------------
    def receive(self, data: bytes) -> Json:
        """Take one interchange in one transaction; an unreadable envelope is counted and answered 400."""
        try:
            ic = x12.read(data)
        except x12.X12Error as error:
            with self.store.tx():
                self._count("rejected")
            raise SimError(400, {"error": "INVALID_INTERCHANGE", "detail": str(error)}) from None
        with self.store.tx():
            return self._take(ic, data)

    def _take(self, ic: x12.Interchange, data: bytes) -> Json:
        sender = f"{ic.sender[0]}/{ic.sender[1]}"
        seen = "SELECT 1 FROM edi_inbound WHERE sender = ? AND control = ?"
        if self.store.scalar(seen, (sender, ic.control)):
            self._count("duplicates")
            return {"interchange": ic.control, "duplicate": True, "sets": []}
        answers = [self._set(ic, group, tset) for group in ic.groups for tset in group.sets]
        for group in ic.groups:
            if group.functional_id != "FA":
                self._queue(ic, group, "997", "FA", x12.ack_997(group))
        self.store.execute("INSERT INTO edi_inbound (sender, control, sets, body, received) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (sender, ic.control, orjson.dumps(answers).decode(), data.decode(), time.time()))
        return {"interchange": ic.control, "duplicate": False, "sets": answers}

    def _set(self, ic: x12.Interchange, group: x12.Group, tset: x12.TSet) -> Json:
        answer: Json = {"set": tset.id, "control": tset.control}
        if not tset.error:
            try:
                if tset.id == "850":
                    answer["order"] = self._order(ic, group, tset)
                    self._count("850_received")
                elif tset.id == "997":
                    answer["acknowledges"] = self._ack_in(tset)
                    self._count("997_received")
                else:
                    tset.error, tset.detail = "1", f"transaction set {tset.id} is not supported"
            except (x12.X12Error, SimError, ValueError) as error:
                detail = error.body.get("detail") if isinstance(error, SimError) else str(error)
                tset.error, tset.detail = "5", str(detail)
        if tset.error:
            self._count("rejected")
            answer.update(status="R", code=tset.error, detail=tset.detail)
        else:
            answer["status"] = "A"
        return answer

    def _order(self, ic: x12.Interchange, group: x12.Group, tset: x12.TSet) -> str:
        """An 850 as a portal order; returns the order id."""
        body, settings = tset.body, self.settings()
        beg = x12.first(body, "BEG")
        if beg is None or not beg.get(3):
            raise x12.X12Error("the 850 has no BEG with a PO number")
        ref, cur = x12.first(body, "REF", "PP"), x12.first(body, "CUR")
        ship_to = x12.first(body, "N1", "ST")
        lines, edi_lines = [], []
        for loop in x12.loops(body, "PO1"):
            line, edi_line = self._line(loop, settings)
            lines.append(line)
            edi_lines.append(edi_line)
        po, revision = beg.get(3), int(ref.get(2)) if ref is not None and ref.get(2).isdigit() else 0
        order = {"buyerPoNumber": po, "revision": revision, "currency": cur.get(2) if cur else None,
                 "buyer": f"PLANT-{ship_to.get(4)}" if ship_to is not None else None, "lines": lines}
        _, result = self.sup.receive(order)
        trading = {"sender": ic.receiver, "receiver": ic.sender, "gs_sender": group.receiver,
                   "gs_receiver": group.sender, "version": group.version, "usage": ic.usage,
                   "n1": [list(s.elements) for s in body if s.id == "N1"]}
        self.store.execute("INSERT OR IGNORE INTO edi_orders VALUES (?, ?, ?, ?)",
                           (po, revision, orjson.dumps(trading).decode(), orjson.dumps(edi_lines).decode()))
        return str(result["orderId"])

    @staticmethod
    def _line(loop: list[x12.Seg], settings: Json) -> tuple[Json, Json]:
        po1 = loop[0]
        ids = x12.pairs(po1, 6)
        buyer_part = ids.get("BP") or ids.get("IN") or ""
        part = ids.get("VP") or settings["customerParts"].get(buyer_part) or buyer_part
        unit = po1.get(3)
        dtm = x12.first(loop, "DTM", "002")
        wanted = date(int(dtm.get(2)[:4]), int(dtm.get(2)[4:6]), int(dtm.get(2)[6:8])) if dtm else (
            date.today() + timedelta(days=7))
        line = {"lineNo": int(po1.get(1)), "supplierPart": part, "quantity": po1.get(2),
                "unit": settings["units"].get(unit, unit), "unitPrice": po1.get(4) or None,
                "requestedDate": wanted.isoformat()}
        return line, {"lineNo": int(po1.get(1)), "buyerPart": buyer_part, "part": part, "unit": unit}

    def _ack_in(self, tset: x12.TSet) -> Json:
        functional_id, control, status = x12.read_997(tset)
        self.store.execute("UPDATE edi_outbound SET ack_status = ? WHERE gs_control = ? AND set_id != '997'",
                           (status, control))
        return {"functional_id": functional_id, "group": control, "status": status}

    # -- outbound ------------------------------------------------------------------------------
    def _queue(self, ic: x12.Interchange, group: x12.Group, set_id: str, functional_id: str,
               body: list[list[str]]) -> None:
        env = x12.Envelope(ic.receiver, ic.sender, group.receiver, group.sender, group.version or "004010",
                           ic.usage or "P")
        self._write(set_id, functional_id, body, env, None, None, 0)

    def _write(self, set_id: str, functional_id: str, body: list[list[str]], env: x12.Envelope,
               po: str | None, revision: int | None, miscount: int) -> None:
        control = self.store.next_number("EDI-ISA", 1)
        data = x12.write(set_id, functional_id, body, env, control, utc_now(), miscount)
        self.store.execute(
            "INSERT INTO edi_outbound (set_id, isa_control, gs_control, st_control, po, revision, body, "
            "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (set_id, f"{control:09d}", str(control), "0001", po, revision, data.decode(), time.time()))
        self._count(f"{set_id}_sent")

    def acknowledged(self, ack: Json) -> None:
        """The portal acknowledged an order: an 855 when the order came by EDI."""
        po, revision = ack["buyerPoNumber"], int(ack["revision"])
        row = self.store.row("SELECT trading, lines FROM edi_orders WHERE po = ? AND revision = ?",
                             (po, revision))
        if row is None:
            return
        trading = orjson.loads(row["trading"])
        edi_lines = {ln["lineNo"]: ln for ln in orjson.loads(row["lines"])}
        env = x12.Envelope(tuple(trading["sender"]), tuple(trading["receiver"]),
                           trading["gs_sender"], trading["gs_receiver"], trading["version"], trading["usage"])
        miscount = 1 if self.take_lever("malformNext855") else 0
        self._write("855", "PR", bak_855(ack, trading["n1"], edi_lines), env, po, revision, miscount)


def bak_855(ack: Json, n1: list[list[str]], edi_lines: dict[int, Json]) -> list[list[str]]:
    """The 855 body for a portal acknowledgment: BAK, REF*PP, DTM*097, the 850's N1s, PO1 + ACK, CTT."""
    now = utc_now()
    statuses = {line["status"] for line in ack["lines"]}
    kind = "AD" if statuses == {"ACCEPTED"} else ("RJ" if statuses == {"REJECTED"} else "AC")
    day = f"{now:%Y%m%d}"
    body = [["BAK", "00", kind, ack["buyerPoNumber"], day, "", "", "", ack["ackId"], day],
            ["REF", "PP", str(ack["revision"])], ["DTM", "097", day, f"{now:%H%M%S}", "UT"]]
    body += [["N1", *elements] for elements in n1]
    for line in ack["lines"]:
        edi = edi_lines.get(int(line["lineNo"]), {})
        unit = edi.get("unit") or "EA"
        named = (("BP", edi.get("buyerPart")), ("VP", line["supplierPart"]))
        ids = [x for q, v in named if v for x in (q, v)]
        body.append(["PO1", str(line["lineNo"]), str(line["quantity"]), unit, "", "", *ids])
        body.append(_ack(line, unit))
    body.append(["CTT", str(len(ack["lines"]))])
    return body


def _ack(line: Json, unit: str) -> list[str]:
    segment = ["ACK", ACK_CODES[line["status"]]]
    if line["status"] != "REJECTED":
        when = (line.get("confirmedDate") or line["requestedDate"]).replace("-", "")
        segment += [str(line["confirmedQuantity"]), unit, "067", when]
    if line.get("reason") and line["status"] != "ACCEPTED":
        segment += [""] * (26 - len(segment) + 1) + ["ZZ", "", str(line["reason"])[:30]]
    return segment


def outbound(store: Store, after: int, limit: int) -> Json:
    """A page of the outbound EDI feed."""
    rows = store.rows("SELECT * FROM edi_outbound WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
    head = int(store.scalar("SELECT COALESCE(MAX(seq), 0) FROM edi_outbound"))
    docs = [{"seq": r["seq"], "set": r["set_id"], "isa_control": r["isa_control"],
             "gs_control": r["gs_control"], "st_control": r["st_control"], "po": r["po"],
             "revision": r["revision"], "ack_status": r["ack_status"], "x12": r["body"]} for r in rows]
    return {"documents": docs, "next_after": rows[-1]["seq"] if rows else after, "head": head}
