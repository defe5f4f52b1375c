"""Pure mapping between SAP IDoc XML and the canonical model.

Inbound: LOIPRO01 -> production.order.released; ORDRSP (basic type ORDERS05) ->
procurement.supplier.acknowledged; DESADV (basic type DELVRY07) -> procurement.shipment.notified.
Outbound: supplier.send_purchase_order -> ORDERS05 (message ORDERS, or ORDCHG for revision > 0);
erp.post_goods_movement -> MBGMCR03. Each direction has its inverse here too, so every pair round-trips
and the emitters double as fixture builders. Errors are `InvalidEvent`s located by XPath.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from lxml import etree

from plantwire.adapters._erp_canonical import build, cloud_event
from plantwire.adapters._xml import parse_xml
from plantwire.adapters.sap.common import (
    Node,
    at,
    control_and_body,
    dats,
    dats_out,
    invalid,
    local,
    lookup,
    plain,
    reference,
    serialize,
    sub,
    tims,
)
from plantwire.adapters.sap.mapping import (
    ACK_ACTION_OF,
    ACK_ACTIONS,
    MOVEMENT_OF,
    MOVEMENTS,
    ORDER_STATUS,
    PARTNERS,
    QUALIFIERS,
    RELEASED,
    SapMapping,
    unit_in,
    unit_out,
)
from plantwire.domain.commands import PostGoodsMovement, SendPurchaseOrder
from plantwire.domain.procurement import SupplierAcknowledged
from plantwire.domain.production import ProductionOrderReleased
from plantwire.domain.shipping import ShipmentNotified

Json = dict[str, Any]
Q = QUALIFIERS


# -- control record --------------------------------------------------------------------------------
def docnum(key: str) -> str:
    """A 16-digit IDoc number derived from the idempotency key (same key, same number)."""
    return str(int(hashlib.sha256(key.encode()).hexdigest(), 16) % 10**16).zfill(16)


def _envelope(
    basic: str,
    message: str,
    key: str,
    m: SapMapping,
    created: datetime,
    partner: str,
    partner_type: str = "LS",
) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(basic)
    idoc = etree.SubElement(root, "IDOC", BEGIN="1")
    day, clock = local(created, m.default_timezone)
    sub(
        idoc,
        "EDI_DC40",
        {
            "TABNAM": "EDI_DC40",
            "DOCNUM": docnum(key),
            "DIRECT": "2",
            "IDOCTYP": basic,
            "MESTYP": message,
            "SNDPOR": m.port,
            "SNDPRT": "LS",
            "SNDPRN": m.own_partner,
            "RCVPOR": m.port,
            "RCVPRT": partner_type,
            "RCVPRN": partner,
            "CREDAT": day,
            "CRETIM": clock,
            "SERIAL": created.strftime("%Y%m%d%H%M%S"),
        },
    )
    return root, idoc


def _open(payload: bytes, basic: str, messages: tuple[str, ...]) -> tuple[Node, Node, str]:
    control, idoc = control_and_body(parse_xml(payload), (basic,))
    message = control.req("MESTYP")
    if message not in messages:
        raise invalid(
            f"{control.path}/MESTYP",
            "message-type",
            f"expected message type {' or '.join(messages)}, got {message}",
        )
    return control, idoc, message


# -- LOIPRO01: production order --------------------------------------------------------------------
def parse_loipro(payload: bytes, m: SapMapping) -> tuple[ProductionOrderReleased | None, Node]:
    """The released order of a LOIPRO01 IDoc, or None when its status is not REL (I0002)."""
    control, idoc, _ = _open(payload, "LOIPRO01", ("LOIPRO",))
    head = idoc.child("E1AFKOL")
    statuses = {s.req("STAT") for s in head.children("E1JSTKL")}
    if RELEASED not in statuses:
        return None, control
    plant = m.plants.to_golden(head.req("WERKS"), f"{head.path}/WERKS")
    zone = m.zone(plant)
    ops = [op for seq in head.children("E1AFFLL") for op in seq.children("E1FVOL")]
    data = {
        "order_id": head.req("AUFNR").lstrip("0") or "0",
        "plant": plant,
        "item_id": m.items.to_golden(head.req("MATNR"), f"{head.path}/MATNR"),
        "quantity": {
            "value": head.num("GAMNG", positive=True),
            "uom": unit_in(m.units_internal, head.req("GMEIN"), f"{head.path}/GMEIN"),
        },
        "scheduled_start": at(head.date("GSTRS"), tims(head.get("GSUZS"), f"{head.path}/GSUZS"), zone),
        "scheduled_end": at(head.date("GLTRS"), tims(head.get("GLUZS"), f"{head.path}/GLUZS"), zone),
        "due_date": head.date("GLTRP") if head.get("GLTRP") else None,
        "work_center": ops[0].get("ARBPL") if ops else None,
        "bom_revision": head.get("REVLV"),
        "components": [_component(c, m) for c in head.children("E1RESBL")],
    }
    return build(ProductionOrderReleased, data, head.path), control


def _component(c: Node, m: SapMapping) -> Json:
    location = c.get("LGORT")
    return {
        "line": c.int("RSPOS"),
        "item_id": m.items.to_golden(c.req("MATNR"), f"{c.path}/MATNR"),
        "quantity": {
            "value": c.num("BDMNG", positive=True),
            "uom": unit_in(m.units_internal, c.req("MEINS"), f"{c.path}/MEINS"),
        },
        "storage_location": m.locations.to_golden(location, f"{c.path}/LGORT") if location else None,
        "operation": c.get("VORNR"),
    }


def loipro_events(payload: bytes, m: SapMapping) -> list[Json]:
    """LOIPRO01 -> [production.order.released] (nothing for orders that are not released)."""
    order, control = parse_loipro(payload, m)
    if order is None:
        return []
    return [
        cloud_event(
            f"sap/{control.req('SNDPRN')}",
            f"ORD-{order.order_id}/released",
            "production.order.released",
            order,
            order.plant,
        )
    ]


def emit_loipro(order: ProductionOrderReleased, key: str, m: SapMapping, created: datetime) -> bytes:
    """LOIPRO01 for a released order (what SAP sends to an MES; used for fixtures and round trips)."""
    root, idoc = _envelope("LOIPRO01", "LOIPRO", key, m, created, "MES", "LS")
    zone = m.zone(order.plant)
    (sd, st), (ed, et) = local(order.scheduled_start, zone), local(order.scheduled_end, zone)
    head = sub(
        idoc,
        "E1AFKOL",
        {
            "AUFNR": order.order_id.zfill(12) if order.order_id.isdigit() else order.order_id,
            "AUART": "PP01",
            "WERKS": m.plants.to_sap(order.plant, "$.plant"),
            "MATNR": m.items.to_sap(order.item_id, "$.item_id"),
            "GAMNG": plain(order.quantity.value),
            "GMEIN": unit_out(m.units_internal, order.quantity.uom, "$.quantity.uom"),
            "GSTRS": sd,
            "GSUZS": st,
            "GLTRS": ed,
            "GLUZS": et,
            "GLTRP": dats_out(order.due_date) if order.due_date else None,
            "REVLV": order.bom_revision,
        },
    )
    if order.work_center:
        sub(
            sub(head, "E1AFFLL", {"APLZL": "00000001"}),
            "E1FVOL",
            {"VORNR": "0010", "ARBPL": order.work_center},
        )
    for i, c in enumerate(order.components):
        sub(
            head,
            "E1RESBL",
            {
                "RSPOS": str(c.line).zfill(4),
                "MATNR": m.items.to_sap(c.item_id, f"$.components[{i}].item_id"),
                "WERKS": m.plants.to_sap(order.plant, "$.plant"),
                "BDMNG": plain(c.quantity.value),
                "MEINS": unit_out(m.units_internal, c.quantity.uom, f"$.components[{i}].quantity.uom"),
                "LGORT": m.locations.to_sap(c.storage_location, f"$.components[{i}]")
                if c.storage_location
                else None,
                "VORNR": c.operation,
            },
        )
    sub(head, "E1JSTKL", {"STAT": RELEASED})
    return serialize(root)


def order_state(payload: bytes) -> list[str]:
    """The canonical states of a LOIPRO01 order's system statuses (unknown codes are skipped)."""
    _, idoc, _ = _open(payload, "LOIPRO01", ("LOIPRO",))
    head = idoc.child("E1AFKOL")
    return [ORDER_STATUS[s.req("STAT")] for s in head.children("E1JSTKL") if s.req("STAT") in ORDER_STATUS]


# -- ORDERS05: purchase order to the supplier (ORDERS / ORDCHG) ------------------------------------
def emit_orders(cmd: SendPurchaseOrder, key: str, m: SapMapping, created: datetime) -> bytes:
    """ORDERS05 for supplier.send_purchase_order; revision 0 is ORDERS, later revisions ORDCHG."""
    vendor = m.suppliers.to_sap(cmd.supplier_id, "$.supplier_id")
    root, idoc = _envelope("ORDERS05", "ORDCHG" if cmd.revision else "ORDERS", key, m, created, vendor, "LI")
    day, clock = local(created, m.default_timezone)
    sub(
        idoc,
        "E1EDK01",
        {
            "ACTION": "002" if cmd.revision else "000",
            "CURCY": cmd.currency,
            "BSART": "NB",
            "BELNR": cmd.po_number,
        },
    )
    sub(idoc, "E1EDK03", {"IDDAT": Q["document_date"], "DATUM": day, "UZEIT": clock})
    sub(idoc, "E1EDKA1", {"PARVW": PARTNERS["vendor"], "PARTN": vendor})
    sub(idoc, "E1EDK02", {"QUALF": Q["po_reference"], "BELNR": cmd.po_number, "DATUM": day})
    sub(idoc, "E1EDK02", {"QUALF": Q["revision"], "BELNR": str(cmd.revision)})
    werks = m.plants.to_sap(cmd.plant, "$.plant")
    for i, line in enumerate(cmd.lines):
        item = sub(
            idoc,
            "E1EDP01",
            {
                "POSEX": str(line.line).zfill(6),
                "ACTION": "002" if cmd.revision else "001",
                "MENGE": plain(line.quantity.value),
                "MENEE": unit_out(m.units_iso, line.quantity.uom, f"$.lines[{i}].quantity.uom"),
                "VPREI": plain(line.unit_price) if line.unit_price is not None else None,
                "PEINH": "1" if line.unit_price is not None else None,
                "WERKS": werks,
            },
        )
        sub(
            item,
            "E1EDP20",
            {"WMENG": plain(line.quantity.value), "EDATU": dats_out(line.delivery_date)},
        )
        sub(
            item,
            "E1EDP19",
            {"QUALF": Q["material_buyer"], "IDTNR": m.items.to_sap(line.item_id, f"$.lines[{i}].item_id")},
        )
    return serialize(root)


def parse_orders(payload: bytes, m: SapMapping) -> SendPurchaseOrder:
    """The canonical PO of an ORDERS05 (ORDERS / ORDCHG) IDoc."""
    _, idoc, _ = _open(payload, "ORDERS05", ("ORDERS", "ORDCHG"))
    head = idoc.child("E1EDK01")
    items = idoc.children("E1EDP01")
    if not items:
        raise invalid(f"{idoc.path}/E1EDP01", "missing-segment", "an order needs at least one E1EDP01 item")
    data = {
        "po_number": head.req("BELNR"),
        "revision": _revision(idoc),
        "plant": m.plants.to_golden(items[0].req("WERKS"), f"{items[0].path}/WERKS"),
        "supplier_id": _partner(idoc, m),
        "currency": head.req("CURCY"),
        "lines": [_po_line(p, m) for p in items],
    }
    return build(SendPurchaseOrder, data, idoc.path)


def _revision(idoc: Node) -> int:
    ref = idoc.where("E1EDK02", "QUALF", Q["revision"])
    return 0 if ref is None else ref.int("BELNR")


def _partner(idoc: Node, m: SapMapping) -> str:
    vendor = idoc.where("E1EDKA1", "PARVW", PARTNERS["vendor"])
    if vendor is None:
        raise invalid(
            f"{idoc.path}/E1EDKA1[PARVW='LF']", "missing-segment", "the vendor partner (LF) is missing"
        )
    return m.suppliers.to_golden(vendor.req("PARTN"), f"{vendor.path}/PARTN")


def _po_line(p: Node, m: SapMapping) -> Json:
    material = p.where("E1EDP19", "QUALF", Q["material_buyer"])
    if material is None:
        raise invalid(f"{p.path}/E1EDP19[QUALF='001']", "missing-segment", "the item's material is missing")
    schedule = p.child("E1EDP20")
    price = p.get("VPREI")
    if price is not None and p.get("PEINH") not in (None, "1"):
        price = plain(p.num("VPREI") / p.num("PEINH", positive=True))
    return {
        "line": p.int("POSEX"),
        "item_id": m.items.to_golden(material.req("IDTNR"), f"{material.path}/IDTNR"),
        "quantity": {
            "value": p.num("MENGE", positive=True),
            "uom": unit_in(m.units_iso, p.req("MENEE"), f"{p.path}/MENEE"),
        },
        "delivery_date": schedule.date("EDATU"),
        "unit_price": price,
    }


# -- ORDRSP: the supplier's order response --------------------------------------------------------
def parse_ordrsp(payload: bytes, m: SapMapping) -> tuple[SupplierAcknowledged, str]:
    """The acknowledgment of an ORDRSP IDoc, and the sender's partner number."""
    control, idoc, _ = _open(payload, "ORDERS05", ("ORDRSP",))
    head = idoc.child("E1EDK01")
    po = idoc.where("E1EDK02", "QUALF", Q["po_reference"])
    if po is None:
        raise invalid(f"{idoc.path}/E1EDK02[QUALF='001']", "missing-segment", "the PO reference is missing")
    dated = idoc.where("E1EDK03", "IDDAT", Q["document_date"])
    if dated is None:
        raise invalid(f"{idoc.path}/E1EDK03[IDDAT='012']", "missing-segment", "the document date is missing")
    moment = at(dated.date("DATUM"), tims(dated.get("UZEIT"), f"{dated.path}/UZEIT"), m.default_timezone)
    items = idoc.children("E1EDP01")
    if not items:
        raise invalid(f"{idoc.path}/E1EDP01", "missing-segment", "a response needs at least one E1EDP01 item")
    data = {
        "po_number": po.req("BELNR"),
        "revision": _revision(idoc),
        "supplier_id": _partner(idoc, m),
        "ack_id": head.req("BELNR"),
        "acknowledged_at": moment,
        "lines": [_ack_line(p, m) for p in items],
    }
    return build(SupplierAcknowledged, data, idoc.path), control.req("SNDPRN")


def _ack_line(p: Node, m: SapMapping) -> Json:
    status = lookup(ACK_ACTIONS, p.get("ACTION") or "000", f"{p.path}/ACTION", "action")
    schedule = p.children("E1EDP20")
    menge = p.get("MENGE")
    return {
        "line": p.int("POSEX"),
        "status": status,
        "quantity": None
        if menge is None
        else {"value": p.num("MENGE"), "uom": unit_in(m.units_iso, p.req("MENEE"), f"{p.path}/MENEE")},
        "delivery_date": schedule[0].date("EDATU") if schedule and schedule[0].get("EDATU") else None,
        "reason": p.get("ABGRT"),
    }


def ordrsp_events(payload: bytes, m: SapMapping) -> list[Json]:
    """ORDRSP -> [procurement.supplier.acknowledged], identified by PO, revision and response number."""
    ack, sender = parse_ordrsp(payload, m)
    return [
        cloud_event(
            f"sap/{sender}",
            f"ORDRSP-{ack.po_number}/rev-{ack.revision}/{ack.ack_id}",
            "procurement.supplier.acknowledged",
            ack,
            None,
            ack.acknowledged_at.isoformat(),
        )
    ]


def emit_ordrsp(ack: SupplierAcknowledged, key: str, m: SapMapping) -> bytes:
    """ORDRSP for an acknowledgment (what a supplier's EDI converter sends; fixtures and round trips)."""
    vendor = m.suppliers.to_sap(ack.supplier_id, "$.supplier_id")
    root, idoc = _envelope("ORDERS05", "ORDRSP", key, m, ack.acknowledged_at, m.own_partner, "LS")
    idoc.find("EDI_DC40/SNDPRN").text, idoc.find("EDI_DC40/SNDPRT").text = vendor, "LI"
    day, clock = local(ack.acknowledged_at, m.default_timezone)
    sub(idoc, "E1EDK01", {"ACTION": "000", "BELNR": ack.ack_id})
    sub(idoc, "E1EDK03", {"IDDAT": Q["document_date"], "DATUM": day, "UZEIT": clock})
    sub(idoc, "E1EDKA1", {"PARVW": PARTNERS["vendor"], "PARTN": vendor})
    sub(idoc, "E1EDK02", {"QUALF": Q["po_reference"], "BELNR": ack.po_number})
    sub(idoc, "E1EDK02", {"QUALF": Q["revision"], "BELNR": str(ack.revision)})
    for i, line in enumerate(ack.lines):
        q = line.quantity
        item = sub(
            idoc,
            "E1EDP01",
            {
                "POSEX": str(line.line).zfill(6),
                "ACTION": ACK_ACTION_OF[line.status.value],
                "MENGE": plain(q.value) if q else None,
                "MENEE": unit_out(m.units_iso, q.uom, f"$.lines[{i}].quantity.uom") if q else None,
                "ABGRT": line.reason,
            },
        )
        if line.delivery_date:
            sub(item, "E1EDP20", {"EDATU": dats_out(line.delivery_date)})
    return serialize(root)


# -- DESADV (DELVRY07): advance shipping notification ----------------------------------------------
def parse_desadv(payload: bytes, m: SapMapping) -> ShipmentNotified:
    """The ASN of a DESADV IDoc (basic type DELVRY07)."""
    _, idoc, _ = _open(payload, "DELVRY07", ("DESADV",))
    head = idoc.child("E1EDL20")
    parties = {p.get("PARTNER_Q"): p for p in head.children("E1ADRM1")}
    vendor = parties.get(PARTNERS["vendor"])
    if vendor is None:
        raise invalid(
            f"{head.path}/E1ADRM1[PARTNER_Q='LF']", "missing-segment", "the vendor partner is missing"
        )
    ship_to, carrier = parties.get(PARTNERS["ship_to"]), parties.get(PARTNERS["carrier"])
    plant = m.plants.to_golden(ship_to.req("PARTNER_ID"), f"{ship_to.path}/PARTNER_ID") if ship_to else None
    zone = m.zone(plant) if plant else m.default_timezone
    shipped = head.where("E1EDT13", "QUALF", Q["goods_issue"])
    if shipped is None:
        raise invalid(
            f"{head.path}/E1EDT13[QUALF='006']", "missing-segment", "the goods issue date is missing"
        )
    expected = head.where("E1EDT13", "QUALF", Q["delivery"])
    packages = {
        n.int("POSNR"): hu.req("EXIDV") for hu in head.children("E1EDL37") for n in hu.children("E1EDL44")
    }
    items = head.children("E1EDL24")
    if not items:
        raise invalid(f"{head.path}/E1EDL24", "missing-segment", "an ASN needs at least one E1EDL24 item")
    data = {
        "asn_id": head.req("VBELN").lstrip("0") or "0",
        "supplier_id": m.suppliers.to_golden(vendor.req("PARTNER_ID"), f"{vendor.path}/PARTNER_ID"),
        "plant": plant,
        "shipped_at": _deadline(shipped, zone),
        "expected_at": _deadline(expected, zone) if expected else None,
        "carrier": carrier.req("PARTNER_ID") if carrier else None,
        "tracking_id": head.get("BOLNR"),
        "lines": [_asn_line(i, m, packages) for i in items],
    }
    return build(ShipmentNotified, data, head.path)


def _deadline(n: Node, zone: str) -> datetime:
    return at(
        dats(n.req("NTANF"), f"{n.path}/NTANF"),
        tims(n.get("NTANZ"), f"{n.path}/NTANZ"),
        n.get("TZONE_BEG") or zone,
    )


def _asn_line(i: Node, m: SapMapping, packages: dict[int, str]) -> Json:
    ref = i.where("E1EDL41", "QUALI", Q["delivery_po"])
    if ref is None:
        raise invalid(
            f"{i.path}/E1EDL41[QUALI='001']", "missing-segment", "the item's PO reference is missing"
        )
    ours = i.get("KDMAT")
    line = i.int("POSNR")
    return {
        "line": line,
        "po_number": ref.req("BELNR"),
        "po_line": ref.int("POSNR") if ref.get("POSNR") else None,
        "item_id": m.items.to_golden(ours or i.req("MATNR"), f"{i.path}/{'KDMAT' if ours else 'MATNR'}"),
        "supplier_item_id": i.get("MATNR") if ours else None,
        "quantity": {
            "value": i.num("LFIMG", positive=True),
            "uom": unit_in(m.units_internal, i.req("VRKME"), f"{i.path}/VRKME"),
        },
        "lot": i.get("CHARG"),
        "package_id": packages.get(line),
    }


def desadv_events(payload: bytes, m: SapMapping) -> list[Json]:
    """DESADV -> [procurement.shipment.notified], identified by the delivery number."""
    asn = parse_desadv(payload, m)
    return [
        cloud_event(
            m.source,
            f"ASN-{asn.supplier_id}-{asn.asn_id}",
            "procurement.shipment.notified",
            asn,
            asn.plant,
            asn.shipped_at.isoformat(),
        )
    ]


def emit_desadv(asn: ShipmentNotified, key: str, m: SapMapping) -> bytes:
    """DESADV / DELVRY07 for an ASN (what a supplier sends; fixtures and round trips)."""
    vendor = m.suppliers.to_sap(asn.supplier_id, "$.supplier_id")
    root, idoc = _envelope("DELVRY07", "DESADV", key, m, asn.shipped_at, m.own_partner)
    zone = m.zone(asn.plant) if asn.plant else m.default_timezone
    head = sub(idoc, "E1EDL20", {"VBELN": asn.asn_id, "BOLNR": asn.tracking_id})
    sub(head, "E1ADRM1", {"PARTNER_Q": PARTNERS["vendor"], "PARTNER_ID": vendor})
    if asn.plant:
        sub(
            head,
            "E1ADRM1",
            {"PARTNER_Q": PARTNERS["ship_to"], "PARTNER_ID": m.plants.to_sap(asn.plant, "$.plant")},
        )
    if asn.carrier:
        sub(head, "E1ADRM1", {"PARTNER_Q": PARTNERS["carrier"], "PARTNER_ID": asn.carrier})
    for qualf, moment in ((Q["goods_issue"], asn.shipped_at), (Q["delivery"], asn.expected_at)):
        if moment is not None:
            day, clock = local(moment, zone)
            sub(head, "E1EDT13", {"QUALF": qualf, "NTANF": day, "NTANZ": clock, "TZONE_BEG": zone})
    for n, line in enumerate(asn.lines):
        item = sub(
            head,
            "E1EDL24",
            {
                "POSNR": str(line.line).zfill(6),
                "MATNR": line.supplier_item_id,
                "KDMAT": m.items.to_sap(line.item_id, f"$.lines[{n}].item_id"),
                "LFIMG": plain(line.quantity.value),
                "VRKME": unit_out(m.units_internal, line.quantity.uom, f"$.lines[{n}].quantity.uom"),
                "CHARG": line.lot,
            },
        )
        sub(
            item,
            "E1EDL41",
            {
                "QUALI": Q["delivery_po"],
                "BELNR": line.po_number,
                "POSNR": str(line.po_line).zfill(5) if line.po_line else None,
            },
        )
    for line in asn.lines:
        if line.package_id:
            hu = sub(head, "E1EDL37", {"EXIDV": line.package_id})
            sub(
                hu,
                "E1EDL44",
                {"VELIN": "1", "POSNR": str(line.line).zfill(6), "VEMNG": plain(line.quantity.value)},
            )
    return serialize(root)


# -- MBGMCR03: goods movement into SAP -------------------------------------------------------------
def emit_mbgmcr(cmd: PostGoodsMovement, key: str, m: SapMapping, created: datetime) -> bytes:
    """MBGMCR03 for erp.post_goods_movement; the key travels as REF_DOC_NO(_LONG)."""
    bwart, gm_code, indicator = MOVEMENTS[cmd.movement.value]
    _check_references(cmd)
    root, idoc = _envelope("MBGMCR03", "MBGMCR", key, m, created, m.system)
    zone = m.zone(cmd.plant)
    day, _ = local(created, zone)
    if cmd.text is not None and len(cmd.text) > 25:
        raise invalid("$.text", "max-length", "HEADER_TXT holds 25 characters")
    top = sub(idoc, "E1MBGMCR")
    sub(
        top,
        "E1BP2017_GM_HEAD_01",
        {
            "PSTNG_DATE": day,
            "DOC_DATE": day,
            "REF_DOC_NO": reference(key, 16),
            "HEADER_TXT": cmd.text,
            "REF_DOC_NO_LONG": reference(key, 35),
        },
    )
    sub(top, "E1BP2017_GM_CODE", {"GM_CODE": gm_code})
    sub(
        top,
        "E1BP2017_GM_ITEM_CREATE",
        {
            "MATERIAL": m.items.to_sap(cmd.item_id, "$.item_id"),
            "PLANT": m.plants.to_sap(cmd.plant, "$.plant"),
            "STGE_LOC": m.locations.to_sap(cmd.storage_location, "$.storage_location"),
            "BATCH": cmd.lot,
            "MOVE_TYPE": bwart,
            "ENTRY_QNT": plain(cmd.quantity.value),
            "ENTRY_UOM": unit_out(m.units_internal, cmd.quantity.uom, "$.quantity.uom"),
            "ENTRY_UOM_ISO": unit_out(m.units_iso, cmd.quantity.uom, "$.quantity.uom"),
            "PO_NUMBER": cmd.po_number,
            "PO_ITEM": str(cmd.po_line).zfill(5) if cmd.po_line else None,
            "ORDERID": cmd.order_id,
            "MVT_IND": indicator or None,
            "MOVE_STLOC": m.locations.to_sap(cmd.to_location, "$.to_location") if cmd.to_location else None,
        },
    )
    return serialize(root)


def _check_references(cmd: PostGoodsMovement) -> None:
    needs = {
        "goods_issue_to_order": "order_id",
        "goods_receipt_from_order": "order_id",
        "goods_receipt_for_po": "po_number",
        "transfer": "to_location",
    }.get(cmd.movement.value)
    if needs and getattr(cmd, needs) is None:
        raise invalid(f"$.{needs}", "required", f"a {cmd.movement.value} movement needs {needs}")


def parse_mbgmcr(payload: bytes, m: SapMapping) -> tuple[PostGoodsMovement, str]:
    """The canonical goods movement of an MBGMCR03 IDoc, and its reference (REF_DOC_NO_LONG or REF_DOC_NO)."""
    _, idoc, _ = _open(payload, "MBGMCR03", ("MBGMCR",))
    top = idoc.child("E1MBGMCR")
    head = top.child("E1BP2017_GM_HEAD_01")
    items = top.children("E1BP2017_GM_ITEM_CREATE")
    if len(items) != 1:
        raise invalid(
            f"{top.path}/E1BP2017_GM_ITEM_CREATE",
            "one-item",
            f"a canonical goods movement has exactly one item, found {len(items)}",
        )
    i = items[0]
    movement = lookup(
        {f"{b}/{k}": v for (b, k), v in MOVEMENT_OF.items()},
        f"{i.req('MOVE_TYPE')}/{i.get('MVT_IND') or ''}",
        f"{i.path}/MOVE_TYPE",
        "movement",
    )
    iso = i.get("ENTRY_UOM_ISO")
    uom = (
        unit_in(m.units_iso, iso, f"{i.path}/ENTRY_UOM_ISO")
        if iso
        else unit_in(m.units_internal, i.req("ENTRY_UOM"), f"{i.path}/ENTRY_UOM")
    )
    to_loc = i.get("MOVE_STLOC")
    data = {
        "movement": movement,
        "plant": m.plants.to_golden(i.req("PLANT"), f"{i.path}/PLANT"),
        "item_id": m.items.to_golden(i.req("MATERIAL"), f"{i.path}/MATERIAL"),
        "quantity": {"value": i.num("ENTRY_QNT", positive=True), "uom": uom},
        "storage_location": m.locations.to_golden(i.req("STGE_LOC"), f"{i.path}/STGE_LOC"),
        "to_location": m.locations.to_golden(to_loc, f"{i.path}/MOVE_STLOC") if to_loc else None,
        "lot": i.get("BATCH"),
        "order_id": i.get("ORDERID"),
        "po_number": i.get("PO_NUMBER"),
        "po_line": i.int("PO_ITEM") if i.get("PO_ITEM") else None,
        "text": head.get("HEADER_TXT"),
    }
    cmd = build(PostGoodsMovement, data, top.path)
    return cmd, head.get("REF_DOC_NO_LONG") or head.req("REF_DOC_NO")
