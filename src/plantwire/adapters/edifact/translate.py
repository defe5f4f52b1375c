"""EDIFACT <-> canonical: every field mapping of the adapter, as pure functions.

In: ORDERS -> procurement.po.approved, ORDRSP -> procurement.supplier.acknowledged, DESADV ->
procurement.shipment.notified, INVOIC -> finance.invoice.received. RECADV, APERAK, CONTRL and other
types have no canonical contract that fits (see NO_CONTRACT); they are read and acknowledged only.
Out: the same four documents as message segments (ORDERS is what supplier.send_purchase_order sends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from decimal import Decimal
from typing import Any

from plantwire.adapters._common import cloud_event
from plantwire.adapters.edifact.envelope import Interchange, Message
from plantwire.adapters.edifact.fields import Reader, amount, day, edi_date, number, stamp
from plantwire.adapters.edifact.syntax import Segment, seg
from plantwire.domain.commands import SendPurchaseOrder
from plantwire.domain.procurement import SupplierAcknowledged
from plantwire.domain.shipping import InvoiceReceived, ShipmentNotified
from plantwire.errors import InvalidEvent

Json = dict[str, Any]

# DE 1229 line action -> canonical status; the header's BGM 1225 decides when lines carry none.
LINE_ACTIONS = {"4": "accepted", "5": "accepted", "3": "changed", "6": "changed", "7": "rejected",
                "2": "rejected", "10": "rejected"}
MESSAGE_FUNCTIONS = {"29": "accepted", "27": "rejected", "4": "changed"}
EMIT_ACTIONS = {"accepted": "5", "changed": "3", "rejected": "7"}
ORDERED, DESPATCHED, INVOICED, CONFIRMED = "21", "12", "47", "113"
TOTALS = ("86", "39", "77", "9", "128", "79")
NO_CONTRACT = {
    "RECADV": "procurement.goods.received is our own receipt into a storage location; a partner's RECADV "
              "carries no storage location",
    "APERAK": "application errors have no canonical event",
    "CONTRL": "syntax acknowledgments are handled by the adapter, not journaled",
}


@dataclass(frozen=True)
class Partner:
    """What the interchange agreement with one partner declares, so nothing is guessed."""

    plant: str | None = None
    currency: str | None = None
    uom: str = "EA"
    tz: tzinfo = UTC


def to_event(ic: Interchange, msg: Message, partner: Partner) -> Json | None:
    """The canonical CloudEvent of one message, None when no contract fits, or located InvalidEvent."""
    mapper = MAPPERS.get(msg.type)
    if mapper is None:
        return None
    return mapper(Reader(ic.document, msg), ic, partner)


def _source(ic: Interchange) -> str:
    return f"edifact/{ic.sender or 'unknown'}"


def _lines(r: Reader, start: str = "LIN") -> Iterator[tuple[int, Reader]]:
    """(ordinal, reader) per line group: LIN up to the next LIN, CPS or UNS."""
    segs = r.segments
    idx = [i for i, s in enumerate(segs) if s.tag == start]
    for n, i in enumerate(idx):
        end = next((j for j in range(i + 1, len(segs)) if segs[j].tag in (start, "UNS", "CPS")), len(segs))
        yield n + 1, r.sub(segs[i:end])


def _header(r: Reader) -> Reader:
    end = next((i for i, s in enumerate(r.segments) if s.tag in ("LIN", "CPS", "UNS")), len(r.segments))
    return r.sub(r.segments[:end])


def _line_no(r: Reader, ordinal: int) -> int:
    raw = r.segments[0].get(1)
    return int(raw) if raw.isdigit() and int(raw) > 0 else ordinal


def _item(r: Reader) -> str | None:
    lin = r.segments[0]
    if lin.get(3, 1).strip():
        return lin.get(3, 1).strip()
    pia = r.first("PIA", ["5", "1"])
    return pia.get(2, 1).strip() or None if pia else None


def _qty(r: Reader, partner: Partner, *qualifiers: str) -> Json | None:
    q = r.first("QTY", qualifiers)
    if q is None:
        return None
    return {"value": str(number(q, r, 1, 2)), "uom": q.get(1, 3) or partner.uom}


def _price(r: Reader) -> Decimal | None:
    pri = r.first("PRI", ["AAA", "AAB", "INV", "CAL"]) or r.first("PRI")
    if pri is None:
        return None
    value = number(pri, r, 1, 2)
    basis = pri.get(1, 5)
    return value / number(pri, r, 1, 5) if basis.strip() else value


def _revision(r: Reader) -> int:
    raw, _ = r.reference("PP")
    return int(raw) if raw and raw.isdigit() else 0


def _currency(r: Reader, partner: Partner) -> str:
    cux = r.first("CUX")
    code = cux.get(1, 2) if cux else ""
    moa = next((m.get(1, 3) for m in r.all("MOA") if m.get(1, 3)), "")
    return r.need(code or moa or partner.currency, "CUX", "currency (nor does the partner agreement)")


def _event(ic: Interchange, event_id: str, type_: str, data: Json, at: Any, plant: str | None) -> Json:
    return cloud_event(_source(ic), event_id, type_, data, at, plant)


def orders_to_event(r: Reader, ic: Interchange, p: Partner) -> Json:
    """ORDERS -> procurement.po.approved."""
    h = _header(r)
    bgm = h.first("BGM")
    po = r.need(bgm.get(2) if bgm and bgm.get(2) else None, "BGM", "order number")
    at = r.need(h.dtm("137", tz=p.tz), "DTM", "order date (DTM+137)")
    plant = h.party("DP", "ST", "BY") or p.plant
    header_date = h.first("DTM", ["2", "64", "63", "69"])
    lines = []
    for n, line in _lines(r):
        when = line.first("DTM", ["2", "64", "63", "69"]) or header_date
        price = _price(line)
        lines.append({
            "line": _line_no(line, n),
            "item_id": line.need(_item(line), "LIN", "item number"),
            "quantity": line.need(_qty(line, p, ORDERED), "QTY", "ordered quantity (QTY+21)"),
            "delivery_date": edi_date(line.need(when, "DTM", "requested delivery date (DTM+2)"), line,
                                      p.tz).isoformat(),
            **({"unit_price": str(price)} if price is not None else {}),
        })
    revision = _revision(h)
    data = {"po_number": po, "revision": revision, "plant": r.need(plant, "NAD", "plant (NAD+DP)"),
            "supplier_id": r.need(h.party("SU", "SE") or ic.recipient or None, "NAD", "supplier (NAD+SU)"),
            "currency": _currency(r, p), "lines": lines, "approved_at": at.isoformat()}
    return _event(ic, f"ORDERS/{po}/rev-{revision}", "procurement.po.approved", data, at, plant)


def ordrsp_to_event(r: Reader, ic: Interchange, p: Partner) -> Json:
    """ORDRSP -> procurement.supplier.acknowledged; line action codes decide each line's status."""
    h = _header(r)
    bgm = h.first("BGM")
    ack_id = r.need(bgm.get(2) if bgm and bgm.get(2) else None, "BGM", "response number")
    po = r.need(h.reference("ON")[0], "RFF", "order number (RFF+ON)")
    at = r.need(h.dtm("137", tz=p.tz), "DTM", "response date (DTM+137)")
    default = MESSAGE_FUNCTIONS.get(bgm.get(3) if bgm else "")
    lines = []
    for n, line in _lines(r):
        code = line.segments[0].get(2)
        status = LINE_ACTIONS.get(code) or (default if not code else None)
        status = line.need(status, "LIN", f"line status (action code {code!r} in LIN 1229 or BGM 1225)")
        entry: Json = {"line": _line_no(line, n), "status": status}
        qty = _qty(line, p, CONFIRMED, ORDERED)
        when = line.first("DTM", ["69", "2", "17"])
        reason = line.text("FTX", ["ACD", "AAO"], 4)
        entry |= {k: v for k, v in (("quantity", qty), ("reason", reason)) if v is not None}
        if when:
            entry["delivery_date"] = edi_date(when, line, p.tz).isoformat()
        lines.append(entry)
    data = {"po_number": po, "revision": _revision(h), "ack_id": ack_id, "acknowledged_at": at.isoformat(),
            "supplier_id": r.need(h.party("SU", "SE", "MS") or ic.sender or None, "NAD", "supplier"),
            "lines": lines}
    return _event(ic, f"ORDRSP/{ack_id}", "procurement.supplier.acknowledged", data, at, None)


def desadv_to_event(r: Reader, ic: Interchange, p: Partner) -> Json:
    """DESADV -> procurement.shipment.notified (CPS/PAC/PCI/GIN packages, LIN/PIA/QTY/RFF lines)."""
    h = _header(r)
    bgm = h.first("BGM")
    asn = r.need(bgm.get(2) if bgm and bgm.get(2) else None, "BGM", "despatch advice number")
    shipped = r.need(h.dtm("11", "137", tz=p.tz), "DTM", "despatch date (DTM+11)")
    po_default = h.reference("ON")[0]
    lines: list[Json] = []
    package: str | None = None
    ordinal = 0
    for i, s in enumerate(r.segments):
        if s.tag == "CPS":
            package = None
        elif s.tag == "GIN" and s.get(1) == "BJ" and (not lines or _after_cps(r.segments, i)):
            package = s.get(2, 1) or None
        elif s.tag == "LIN":
            ordinal += 1
            lines.append(_desadv_line(r, i, ordinal, package, po_default, p))
    data: Json = {"asn_id": asn, "supplier_id": r.need(h.party("SU", "SE", "CZ") or ic.sender or None, "NAD",
                                                        "supplier"),
                  "shipped_at": shipped.isoformat(), "lines": lines}
    extras = {"plant": h.party("DP", "ST") or p.plant, "carrier": h.text("TDT", ["20"], 5),
              "tracking_id": h.reference("CN")[0]}
    expected = h.dtm("17", "132", tz=p.tz)
    data |= {k: v for k, v in extras.items() if v}
    if expected:
        data["expected_at"] = expected.isoformat()
    return _event(ic, f"DESADV/{asn}", "procurement.shipment.notified", data, shipped, data.get("plant"))


def _after_cps(segs: Sequence[Segment], i: int) -> bool:
    """True when the GIN at i belongs to a CPS group's own packaging, not to a line."""
    for s in reversed(segs[:i]):
        if s.tag in ("CPS", "LIN"):
            return s.tag == "CPS"
    return False


def _desadv_line(r: Reader, i: int, ordinal: int, package: str | None, po: str | None, p: Partner) -> Json:
    segs = r.segments
    end = next((j for j in range(i + 1, len(segs)) if segs[j].tag in ("LIN", "CPS", "UNS")), len(segs))
    line = r.sub(segs[i:end])
    ref_po, ref_line = line.reference("ON")
    supplier_item = next((s.get(2, 1) for s in line.all("PIA") if s.get(2, 2) == "SA"), None)
    lot = next((s.get(2, 1) for s in line.all("GIN", "BX")), None)
    own_package = next((s.get(2, 1) for s in line.all("GIN", "BJ")), None)
    out: Json = {"line": _line_no(line, ordinal),
                 "po_number": line.need(ref_po or po, "RFF", "order (RFF+ON)"),
                 "item_id": line.need(_item(line), "LIN", "item number"),
                 "quantity": line.need(_qty(line, p, DESPATCHED), "QTY", "despatched quantity (QTY+12)")}
    extras = {"po_line": int(ref_line) if ref_line and ref_line.isdigit() else None,
              "supplier_item_id": supplier_item, "lot": lot, "package_id": own_package or package}
    return out | {k: v for k, v in extras.items() if v is not None}


def invoic_to_event(r: Reader, ic: Interchange, p: Partner) -> Json:
    """INVOIC -> finance.invoice.received."""
    h = _header(r)
    bgm = h.first("BGM")
    invoice = r.need(bgm.get(2) if bgm and bgm.get(2) else None, "BGM", "invoice number")
    issued = r.need(h.dtm("137", "3", tz=p.tz), "DTM", "invoice date (DTM+137 or DTM+3)")
    lines = []
    for n, line in _lines(r):
        po, po_line = line.reference("ON")
        price = line.need(_price(line), "PRI", "unit price")
        moa = line.first("MOA", ["203", "66"])
        entry: Json = {"line": _line_no(line, n),
                       "quantity": line.need(_qty(line, p, INVOICED, DESPATCHED), "QTY",
                                             "invoiced quantity (QTY+47)"),
                       "unit_price": str(price)}
        extras = {"po_number": po, "po_line": int(po_line) if po_line and po_line.isdigit() else None,
                  "item_id": _item(line), "amount": str(number(moa, line, 1, 2)) if moa else None}
        lines.append(entry | {k: v for k, v in extras.items() if v is not None})
    summary = r.sub(r.segments[next((i for i, s in enumerate(r.segments) if s.tag == "UNS"), 0):])
    total = summary.first("MOA", TOTALS) or r.first("MOA", TOTALS)
    data: Json = {"invoice_id": invoice, "invoice_date": issued.date().isoformat(),
                  "supplier_id": r.need(h.party("SU", "SE", "II") or ic.sender or None, "NAD", "supplier"),
                  "currency": _currency(r, p),
                  "total": str(number(r.need(total, "MOA", "invoice total (MOA+86/39/77/9/128/79)"),
                                      r, 1, 2)),
                  "lines": lines}
    if h.reference("ON")[0]:
        data["po_number"] = h.reference("ON")[0]
    return _event(ic, f"INVOIC/{invoice}", "finance.invoice.received", data, issued, None)


MAPPERS: dict[str, Callable[[Reader, Interchange, Partner], Json]] = {
    "ORDERS": orders_to_event, "ORDRSP": ordrsp_to_event,
    "DESADV": desadv_to_event, "INVOIC": invoic_to_event,
}


# ---- canonical -> EDIFACT message bodies (between UNH and UNT) ----------------------------------


def _lin(line: int, item: str | None, action: str = "") -> Segment:
    return seg("LIN", str(line), action, (item or "", "IN") if item else "")


def _qty_seg(qualifier: str, q: Any) -> Segment:
    return seg("QTY", (qualifier, amount(q.value), q.uom))


def orders_body(cmd: SendPurchaseOrder, issued_at: Any) -> list[Segment]:
    """supplier.send_purchase_order -> ORDERS segments (BGM 220; RFF+PP carries the revision)."""
    out = [seg("BGM", "220", cmd.po_number, "9" if cmd.revision == 0 else "5"), stamp("137", issued_at)]
    if cmd.revision:
        out.append(seg("RFF", ("PP", str(cmd.revision))))
    out += [seg("NAD", "BY", (cmd.plant, "", "92")), seg("NAD", "DP", (cmd.plant, "", "92")),
            seg("NAD", "SU", (cmd.supplier_id, "", "92")), seg("CUX", ("2", cmd.currency, "9"))]
    for ln in cmd.lines:
        out += [_lin(ln.line, ln.item_id), _qty_seg(ORDERED, ln.quantity), day("2", ln.delivery_date)]
        if ln.unit_price is not None:
            out.append(seg("PRI", ("AAA", amount(ln.unit_price))))
    out += [seg("UNS", "S"), seg("CNT", ("2", str(len(cmd.lines))))]
    return out


def ordrsp_body(ack: SupplierAcknowledged) -> list[Segment]:
    """procurement.supplier.acknowledged -> ORDRSP segments (BGM 231, LIN 1229 per line)."""
    out = [seg("BGM", "231", ack.ack_id, "4"), stamp("137", ack.acknowledged_at),
           seg("RFF", ("ON", ack.po_number))]
    if ack.revision:
        out.append(seg("RFF", ("PP", str(ack.revision))))
    out.append(seg("NAD", "SU", (ack.supplier_id, "", "92")))
    for ln in ack.lines:
        out.append(_lin(ln.line, None, EMIT_ACTIONS[ln.status.value]))
        if ln.quantity is not None:
            out.append(_qty_seg(CONFIRMED, ln.quantity))
        if ln.delivery_date is not None:
            out.append(day("69", ln.delivery_date))
        if ln.reason is not None:
            out.append(seg("FTX", "ACD", "", "", ln.reason))
    return out + [seg("UNS", "S")]


def desadv_body(asn: ShipmentNotified) -> list[Segment]:
    """procurement.shipment.notified -> DESADV segments; one CPS per package (lines in package order)."""
    out = [seg("BGM", "351", asn.asn_id, "9"), stamp("137", asn.shipped_at), stamp("11", asn.shipped_at)]
    if asn.expected_at:
        out.append(stamp("17", asn.expected_at))
    if asn.tracking_id:
        out.append(seg("RFF", ("CN", asn.tracking_id)))
    out.append(seg("NAD", "SU", (asn.supplier_id, "", "92")))
    if asn.plant:
        out.append(seg("NAD", "DP", (asn.plant, "", "92")))
    if asn.carrier:
        out.append(seg("TDT", "20", "", "", "", asn.carrier))
    for n, ln in enumerate(asn.lines, start=1):
        out.append(seg("CPS", str(n)))
        out += [_lin(ln.line, ln.item_id)]
        if ln.supplier_item_id:
            out.append(seg("PIA", "1", (ln.supplier_item_id, "SA")))
        out += [_qty_seg(DESPATCHED, ln.quantity),
                seg("RFF", ("ON", ln.po_number, str(ln.po_line) if ln.po_line else ""))]
        if ln.package_id:
            out += [seg("PCI", "33E"), seg("GIN", "BJ", ln.package_id)]
        if ln.lot:
            out += [seg("PCI", "10"), seg("GIN", "BX", ln.lot)]
    return out + [seg("CNT", ("2", str(len(asn.lines))))]


def invoic_body(inv: InvoiceReceived) -> list[Segment]:
    """finance.invoice.received -> INVOIC segments (BGM 380, MOA+86 total)."""
    out = [seg("BGM", "380", inv.invoice_id, "9"), day("137", inv.invoice_date)]
    if inv.po_number:
        out.append(seg("RFF", ("ON", inv.po_number)))
    out += [seg("NAD", "SU", (inv.supplier_id, "", "92")), seg("CUX", ("2", inv.currency, "4"))]
    for ln in inv.lines:
        out += [_lin(ln.line, ln.item_id), _qty_seg(INVOICED, ln.quantity)]
        if ln.amount is not None:
            out.append(seg("MOA", ("203", amount(ln.amount))))
        out.append(seg("PRI", ("AAA", amount(ln.unit_price))))
        if ln.po_number:
            out.append(seg("RFF", ("ON", ln.po_number, str(ln.po_line) if ln.po_line else "")))
    return out + [seg("UNS", "S"), seg("MOA", ("86", amount(inv.total)))]


def located(exc: InvalidEvent) -> str:
    """The first issue's location, for logs."""
    return exc.issues[0].path if exc.issues else "$"
