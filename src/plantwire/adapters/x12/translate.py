"""Pure mapping between X12 transaction sets and canonical events, both ways.

Inbound (set -> CloudEvent; id from the document's own number, source the sending partner):
- 850 -> procurement.po.approved        id ``PO-<BEG03>/rev-<REF*PP or 0>``
- 855 -> procurement.supplier.acknowledged  id ``ACK-<BAK03>-<BAK08 | BAK06 | date>``
- 856 -> procurement.shipment.notified  id ``ASN-<BSN02>`` (HL tree S / O / P|T / I)
- 810 -> finance.invoice.received       id ``INV-<BIG02>/<BIG01 date>`` (invoice numbers repeat)
997 and 830 have no canonical contract: they are read and acknowledged, not mapped.

Outbound (canonical -> segment bodies, enveloped by ``envelope.write``): 850 from
supplier.send_purchase_order, 855 from an acknowledgment, 856 and 810 from their events, so every
mapping round-trips. Times the X12 slots cannot hold to the second (BEG05 is a date) travel in a
``DTM*097`` (transaction creation) in UTC; the revision in ``REF*PP`` (PO revision number).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from plantwire.adapters._common import cloud_event, fit_id
from plantwire.adapters.x12 import fields as f
from plantwire.adapters.x12.envelope import Group, Interchange, TransactionSet
from plantwire.adapters.x12.mapping import EMIT_STATUS, REJECTING_ACKS, Partner
from plantwire.adapters.x12.tokenizer import Problem, Segment
from plantwire.domain.commands import SendPurchaseOrder
from plantwire.domain.procurement import AckStatus, PurchaseOrderApproved, SupplierAcknowledged
from plantwire.domain.shipping import InvoiceReceived, ShipmentNotified
from plantwire.errors import InvalidEvent, Issue

Json = dict[str, Any]
Body = list[list[str]]
DELIVERY_DATES = ("002", "010", "017", "037", "038", "067", "068", "074", "106", "118")
"""DTM qualifiers (374) that say when a PO line is wanted, in the order we trust them."""
LINE_ENDS = frozenset({"CTT", "AMT", "SE", "TDS", "CAD", "ISS", "SAC", "TXI"})

MAPPED = {"850": "procurement.po.approved", "855": "procurement.supplier.acknowledged",
          "856": "procurement.shipment.notified", "810": "finance.invoice.received"}
"""The event type each mapped transaction set becomes."""


def to_events(ic: Interchange, group: Group, tset: TransactionSet, partner: Partner) -> list[Json]:
    """The canonical events of one accepted set (none for 997 and 830)."""
    mapper = _INBOUND.get(tset.id)
    if mapper is None:
        return []
    data, event_id, at = mapper(ic, tset, partner)
    source = f"x12/{quote(ic.sender[1], safe='')}"
    return [cloud_event(source, fit_id(event_id), MAPPED[tset.id], data, at, data.get("plant"))]


def _checked(model: type[BaseModel], data: Json, tset: TransactionSet) -> Json:
    """The data as its contract dumps it, or InvalidEvent located at the set's ST."""
    try:
        return model.model_validate(data).model_dump(mode="json", exclude_none=True)
    except ValidationError as error:
        st = tset.segments[0]
        where = Problem(st.number, "ST", st.line, None, "map", "").issue().path
        raise InvalidEvent([Issue(f"{where}/{'.'.join(str(p) for p in e['loc'])}", "x12-mapping",
                                  f"line {st.line}: {tset.id} {tset.control}: {e['msg']}")
                            for e in error.errors()]) from None


def _header(tset: TransactionSet) -> list[Segment]:
    """The segments before the first line loop."""
    out = []
    for segment in tset.body:
        if segment.id in ("PO1", "HL", "IT1"):
            break
        out.append(segment)
    return out


def _revision(segments: Sequence[Segment]) -> int:
    ref = f.first(segments, "REF", "PP")
    return int(ref.get(2)) if ref is not None and ref.get(2).isdigit() else 0


def _created(segments: Sequence[Segment], partner: Partner) -> datetime | None:
    dtm = f.first(segments, "DTM", "097")
    return f.moment(dtm, 2, 3, partner.timezone, 4) if dtm is not None and dtm.get(2) else None


def _currency(head: Sequence[Segment], partner: Partner) -> str:
    cur = f.first(head, "CUR")
    return cur.get(2) if cur is not None and cur.get(2) else partner.currency


def _quantity(segment: Segment, value_at: int, unit_at: int, partner: Partner) -> Json:
    return {"value": str(f.decimal(segment, value_at, "quantity")),
            "uom": partner.unit(f.need(segment, unit_at, "unit"))}


def _midnight(day: date, partner: Partner) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=partner.timezone)


# --- inbound ---------------------------------------------------------------------------------------


def po_approved(ic: Interchange, tset: TransactionSet, partner: Partner) -> tuple[Json, str, datetime]:
    """850 -> procurement.po.approved data, event id and business time."""
    head = _header(tset)
    beg = tset.body[0]
    po = f.need(beg, 3, "PO number")
    who = f.parties(head)
    approved_at = _created(head, partner) or _midnight(f.to_date(beg, 5), partner)
    loops = list(f.loops(tset.body, "PO1", LINE_ENDS))
    numbers = f.line_numbers([loop[0].get(1) for loop in loops])
    data = {"po_number": po, "revision": _revision(head),
            "plant": who.get("ST") or partner.plant or ic.receiver[1],
            "supplier_id": f.pick(who, ("SU", "VN", "SE")) or ic.receiver[1],
            "currency": _currency(head, partner),
            "approved_at": approved_at.isoformat(),
            "lines": [_po_line(loop, n, head, beg, partner) for loop, n in zip(loops, numbers, strict=True)]}
    data = _checked(PurchaseOrderApproved, data, tset)
    return data, f"PO-{po}/rev-{data['revision']}", approved_at


def _po_line(loop: list[Segment], number: int, head: list[Segment], beg: Segment, partner: Partner) -> Json:
    po1 = loop[0]
    item = f.item_id(f.pairs(po1, 6))
    if item is None:
        raise f.fail(po1, 6, "the line names no product id")
    return {"line": number, "item_id": item,
            "quantity": _quantity(po1, 2, 3, partner),
            "unit_price": str(f.decimal(po1, 4, "unit price")) if po1.get(4) else None,
            "delivery_date": _wanted(loop, head, beg).isoformat()}


def _wanted(loop: list[Segment], head: list[Segment], beg: Segment) -> date:
    """When the line is wanted: its DTM, its SCH, the header DTM, else the PO date (as soon as possible)."""
    for segments in (loop, head):
        for qualifier in DELIVERY_DATES:
            dtm = f.first(segments, "DTM", qualifier)
            if dtm is not None and dtm.get(2):
                return f.to_date(dtm, 2)
        sch = f.first(segments, "SCH")
        if sch is not None and sch.get(6):
            return f.to_date(sch, 6)
    return f.to_date(beg, 5)


def acknowledged(ic: Interchange, tset: TransactionSet, partner: Partner) -> tuple[Json, str, datetime]:
    """855 -> procurement.supplier.acknowledged data, event id and business time."""
    head = _header(tset)
    bak = tset.body[0]
    po = f.need(bak, 3, "PO number")
    day = f.to_date(bak, 9) if bak.get(9) else f.to_date(bak, 4)
    ack_id = bak.get(8).strip() or bak.get(6).strip() or f"{po}-{day:%Y%m%d}"
    at = _created(head, partner) or _midnight(day, partner)
    header_rejects = bak.get(2) in REJECTING_ACKS
    loops = list(f.loops(tset.body, "PO1", LINE_ENDS))
    numbers = f.line_numbers([loop[0].get(1) for loop in loops])
    data = {"po_number": po, "revision": _revision(head), "ack_id": ack_id,
            "supplier_id": f.pick(f.parties(head), ("SU", "SE", "VN")) or ic.sender[1],
            "acknowledged_at": at.isoformat(),
            "lines": [_ack_line(loop, n, header_rejects, partner)
                      for loop, n in zip(loops, numbers, strict=True)]}
    data = _checked(SupplierAcknowledged, data, tset)
    return data, f"ACK-{po}-{ack_id}", at


def _ack_line(loop: list[Segment], number: int, header_rejects: bool, partner: Partner) -> Json:
    po1, ack = loop[0], f.first(loop, "ACK")
    if ack is None:
        default = AckStatus.REJECTED if header_rejects else AckStatus.ACCEPTED
        return {"line": number, "status": default.value}
    code = ack.get(1)
    status = partner.line_status.get(code)
    if status is None:
        raise f.fail(ack, 1, f"line status {code!r} has no canonical status in the partner's value map")
    out: Json = {"line": number, "status": status.value}
    unit = ack.get(3) or po1.get(3)
    if ack.get(2) and unit:
        out["quantity"] = {"value": str(f.decimal(ack, 2, "quantity")), "uom": partner.unit(unit)}
    if ack.get(5):
        out["delivery_date"] = f.to_date(ack, 5).isoformat()
    if status is AckStatus.CHANGED and "quantity" not in out and "delivery_date" not in out and po1.get(2):
        out["quantity"] = {"value": str(f.decimal(po1, 2, "quantity")), "uom": partner.unit(po1.get(3))}
    if ack.get(29).strip():
        out["reason"] = ack.get(29).strip()
    return out


def invoice_received(ic: Interchange, tset: TransactionSet, partner: Partner) -> tuple[Json, str, datetime]:
    """810 -> finance.invoice.received data, event id and business time (the invoice date)."""
    head = _header(tset)
    big = tset.body[0]
    invoice, day = f.need(big, 2, "invoice number"), f.to_date(big, 1)
    loops = list(f.loops(tset.body, "IT1", LINE_ENDS))
    numbers = f.line_numbers([loop[0].get(1) for loop in loops])
    lines = [_invoice_line(loop[0], n, partner) for loop, n in zip(loops, numbers, strict=True)]
    tds = f.first(tset.body, "TDS")
    computed = sum((Decimal(ln["quantity"]["value"]) * Decimal(ln["unit_price"]) for ln in lines), Decimal())
    total = f.decimal(tds, 1, "total").scaleb(-2) if tds is not None else computed
    data = {"invoice_id": invoice, "invoice_date": day.isoformat(),
            "supplier_id": f.pick(f.parties(head), ("SU", "SE", "VN", "II", "RE")) or ic.sender[1],
            "currency": _currency(head, partner), "total": str(total),
            "po_number": big.get(4).strip() or None, "lines": lines}
    data = _checked(InvoiceReceived, data, tset)
    return data, f"INV-{invoice}/{day.isoformat()}", _midnight(day, partner)


def _invoice_line(it1: Segment, number: int, partner: Partner) -> Json:
    ids = f.pairs(it1, 6)
    po_line = ids.get("PL", "")
    return {"line": number, "item_id": f.item_id(ids), "po_number": ids.get("PO"),
            "po_line": int(po_line) if po_line.isdigit() else None,
            "quantity": _quantity(it1, 2, 3, partner),
            "unit_price": str(f.decimal(it1, 4, "unit price"))}


def shipment_notified(ic: Interchange, tset: TransactionSet, partner: Partner) -> tuple[Json, str, datetime]:
    """856 -> procurement.shipment.notified: one line per item-level HL, PO and package from its parents."""
    head = _header(tset)
    bsn = tset.body[0]
    asn = f.need(bsn, 2, "shipment id")
    levels = _hl_levels(tset.body)
    everything = [s for level in levels.values() for s in level["segments"]] + head
    shipped = f.first(everything, "DTM", "011")
    shipped_at = (f.moment(shipped, 2, 3, partner.timezone, 4) if shipped is not None and shipped.get(2)
                  else f.moment(bsn, 3, 4, partner.timezone))
    expected = f.first(everything, "DTM", "017")
    td5, tracking = f.first(everything, "TD5"), f.first(everything, "REF", "CN")
    who = f.parties(everything)
    items = [hl for hl in levels.values() if hl["level"] == "I"]
    numbers = [_ref(hl["segments"], "LI") for hl in items]
    ordinals = f.line_numbers([n or "" for n in numbers])
    data = {"asn_id": asn, "supplier_id": f.pick(who, ("SU", "SF", "SH", "VN", "SE")) or ic.sender[1],
            "plant": who.get("ST"), "shipped_at": shipped_at.isoformat(),
            "expected_at": f.moment(expected, 2, 3, partner.timezone, 4).isoformat() if expected else None,
            "carrier": (td5.get(3).strip() or None) if td5 is not None else None,
            "tracking_id": tracking.get(2).strip() or None if tracking is not None else None,
            "lines": [_asn_line(hl, levels, n, partner) for hl, n in zip(items, ordinals, strict=True)]}
    data = _checked(ShipmentNotified, data, tset)
    return data, f"ASN-{asn}", shipped_at


def _hl_levels(body: Sequence[Segment]) -> dict[str, Json]:
    """HL id -> its level code, parent id, HL segment and the segments it holds, in document order."""
    levels: dict[str, Json] = {}
    current: Json | None = None
    for segment in body:
        if segment.id == "HL":
            current = {"level": segment.get(3), "parent": segment.get(2), "hl": segment, "segments": []}
            levels[segment.get(1)] = current
        elif current is not None and segment.id not in LINE_ENDS:
            current["segments"].append(segment)
    return levels


def _ref(segments: Sequence[Segment], qualifier: str) -> str | None:
    ref = f.first(segments, "REF", qualifier)
    return ref.get(2).strip() or None if ref is not None else None


def _inherited(hl: Json, levels: dict[str, Json], seg_id: str, position: int) -> str | None:
    """Element `position` of the first `seg_id` in this HL or its nearest ancestor that has one."""
    seen: set[str] = set()
    while hl is not None:
        segment = f.first(hl["segments"], seg_id)
        if segment is not None and segment.get(position).strip():
            return segment.get(position).strip()
        parent = hl["parent"]
        if not parent or parent in seen:
            return None
        seen.add(parent)
        hl = levels.get(parent)  # type: ignore[assignment]
    return None


def _asn_line(hl: Json, levels: dict[str, Json], number: int, partner: Partner) -> Json:
    lin, sn1 = f.first(hl["segments"], "LIN"), f.first(hl["segments"], "SN1")
    if lin is None or sn1 is None:
        raise f.fail(hl["hl"], 3, "an item-level HL needs a LIN and an SN1")
    ids = f.pairs(lin, 2)
    item = f.item_id(ids)
    po = _inherited(hl, levels, "PRF", 1)
    if po is None:
        raise f.fail(hl["hl"], 2, "no PRF (PO number) on this item or the order level above it")
    supplier_item = ids.get("VP") or ids.get("VN")
    return {"line": number, "po_number": po, "po_line": int(lin.get(1)) if lin.get(1).isdigit() else None,
            "item_id": item, "supplier_item_id": supplier_item,
            "quantity": _quantity(sn1, 2, 3, partner),
            "lot": _ref(hl["segments"], "LT"), "package_id": _inherited(hl, levels, "MAN", 2)}


_INBOUND = {"850": po_approved, "855": acknowledged, "856": shipment_notified, "810": invoice_received}


# --- outbound --------------------------------------------------------------------------------------


def purchase_order(cmd: SendPurchaseOrder, approved_at: datetime) -> Body:
    """supplier.send_purchase_order -> the 850 body (BEG to CTT)."""
    day, clock = f.utc_stamp(approved_at)
    body: Body = [["BEG", "00", "SA", cmd.po_number, "", day], ["CUR", "BY", cmd.currency],
                  ["REF", "PP", str(cmd.revision)], ["DTM", "097", day, clock, "UT"],
                  ["N1", "ST", "", "92", cmd.plant], ["N1", "SU", "", "92", cmd.supplier_id]]
    for line in cmd.lines:
        price = f.number(line.unit_price) if line.unit_price is not None else ""
        body.append(["PO1", str(line.line), f.number(line.quantity.value), line.quantity.uom, price, "",
                     "BP", line.item_id])
        body.append(["DTM", "002", f.ymd(line.delivery_date)])
    body.append(["CTT", str(len(cmd.lines))])
    return body


def approved_to_command(data: PurchaseOrderApproved) -> tuple[SendPurchaseOrder, datetime]:
    """The send command an approved PO becomes, with its approval time (for the round trip)."""
    cmd = SendPurchaseOrder.model_validate(
        {"po_number": data.po_number, "revision": data.revision, "plant": data.plant,
         "supplier_id": data.supplier_id, "currency": data.currency,
         "lines": [{"line": ln.line, "item_id": ln.item_id, "quantity": ln.quantity,
                    "delivery_date": ln.delivery_date, "unit_price": ln.unit_price} for ln in data.lines]})
    return cmd, data.approved_at


def acknowledgment(ack: SupplierAcknowledged) -> Body:
    """procurement.supplier.acknowledged -> the 855 body (BAK to CTT)."""
    day, clock = f.utc_stamp(ack.acknowledged_at)
    changed = any(line.status is not AckStatus.ACCEPTED for line in ack.lines)
    body: Body = [["BAK", "00", "AC" if changed else "AD", ack.po_number, day, "", "", "", ack.ack_id, day],
                  ["REF", "PP", str(ack.revision)], ["DTM", "097", day, clock, "UT"],
                  ["N1", "SU", "", "92", ack.supplier_id]]
    for line in ack.lines:
        body.append(["PO1", str(line.line)])
        body.append(_ack_segment(line.status, line.quantity.value if line.quantity else None,
                                 line.quantity.uom if line.quantity else "", line.delivery_date, line.reason))
    body.append(["CTT", str(len(ack.lines))])
    return body


def _ack_segment(status: AckStatus, qty: Decimal | None, uom: str, when: date | None,
                 reason: str | None) -> list[str]:
    if status is AckStatus.CHANGED:
        code = "IC" if qty is not None and when is not None else ("IQ" if qty is not None else "DR")
    else:
        code = EMIT_STATUS[status]
    segment = ["ACK", code, f.number(qty) if qty is not None else "", uom if qty is not None else "",
               "067" if when else "", f.ymd(when) if when else ""]
    if reason:
        segment += [""] * 21 + ["ZZ", "", reason]
    return segment


def invoice(inv: InvoiceReceived) -> Body:
    """finance.invoice.received -> the 810 body (BIG to CTT); TDS01 carries the total in cents."""
    cents = inv.total.scaleb(2)
    if cents != cents.to_integral_value():
        raise InvalidEvent([Issue("$.data.total", "x12-n2", f"total {inv.total} has more than 2 decimals; "
                                  "TDS01 is an N2 amount")])
    body: Body = [["BIG", f.ymd(inv.invoice_date), inv.invoice_id, "", inv.po_number or ""],
                  ["CUR", "SE", inv.currency], ["N1", "SU", "", "92", inv.supplier_id]]
    for line in inv.lines:
        ids = [("BP", line.item_id), ("PO", line.po_number),
               ("PL", str(line.po_line) if line.po_line is not None else None)]
        pairs = [x for q, v in ids if v for x in (q, v)]
        body.append(["IT1", str(line.line), f.number(line.quantity.value), line.quantity.uom,
                     f.number(line.unit_price), ""] + pairs)
    body += [["TDS", str(int(cents))], ["CTT", str(len(inv.lines))]]
    return body


def ship_notice(asn: ShipmentNotified) -> Body:
    """procurement.shipment.notified -> the 856 body: S, then O per PO, P per package, I per line."""
    day, clock = f.utc_stamp(asn.shipped_at)
    body: Body = [["BSN", "00", asn.asn_id, day, clock, "0001"], ["DTM", "011", day, clock, "UT"]]
    if asn.expected_at is not None:
        body.append(["DTM", "017", *f.utc_stamp(asn.expected_at), "UT"])
    body.append(["HL", "1", "", "S"])
    if asn.carrier:
        body.append(["TD5", "", "2", asn.carrier])
    if asn.tracking_id:
        body.append(["REF", "CN", asn.tracking_id])
    body.append(["N1", "SU", "", "92", asn.supplier_id])
    if asn.plant:
        body.append(["N1", "ST", "", "92", asn.plant])
    count, order, pack = 1, ("", ""), ("", "")
    for line in asn.lines:
        if line.po_number != order[1]:
            count += 1
            order, pack = (str(count), line.po_number), ("", "")
            body += [["HL", order[0], "1", "O"], ["PRF", line.po_number]]
        if line.package_id and line.package_id != pack[1]:
            count += 1
            pack = (str(count), line.package_id)
            body += [["HL", pack[0], order[0], "P"], ["MAN", "GM", line.package_id]]
        count += 1
        ids = [x for q, v in (("BP", line.item_id), ("VP", line.supplier_item_id)) if v for x in (q, v)]
        body += [["HL", str(count), pack[0] if line.package_id else order[0], "I"],
                 ["LIN", str(line.po_line) if line.po_line else "", *ids],
                 ["SN1", "", f.number(line.quantity.value), line.quantity.uom], ["REF", "LI", str(line.line)]]
        if line.lot:
            body.append(["REF", "LT", line.lot])
    body.append(["CTT", str(count)])
    return body
