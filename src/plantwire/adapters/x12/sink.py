"""Outbound X12: supplier.send_purchase_order -> an 850 in the outbox (or POSTed to an HTTP EDI
mailbox); 855s for acknowledgments.

The emit functions are pure and return the interchange bytes. Control numbers come from the
idempotency key, and the file name from the PO and the key, so a retried command writes the same
interchange under the same name (or posts it with the same ISA13): the partner's duplicate check
sees one document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from plantwire.adapters.x12.client import FileDrop
from plantwire.adapters.x12.envelope import Parties, control_number, write
from plantwire.adapters.x12.http_client import MailboxClient, mailbox
from plantwire.adapters.x12.mapping import Partner
from plantwire.adapters.x12.translate import acknowledgment, invoice, purchase_order, ship_notice
from plantwire.adapters.x12.validate import parse
from plantwire.domain.commands import SendPurchaseOrder
from plantwire.domain.procurement import SupplierAcknowledged
from plantwire.domain.shipping import InvoiceReceived, ShipmentNotified
from plantwire.errors import PermanentError
from plantwire.ports import Clock, Command

GROUPS = {"850": "PO", "855": "PR", "856": "SH", "810": "IN"}


def _envelope(set_id: str, body: list[list[str]], partner: Partner, key: str, at: datetime,
              outbound: bool) -> bytes:
    us, them = (partner.our_qualifier, partner.our_id), (partner.partner_qualifier, partner.partner_id)
    sender, receiver = (us, them) if outbound else (them, us)
    stamp = at.astimezone(UTC)
    data = write([(set_id, body)], parties=Parties(*sender, *receiver), functional_id=GROUPS[set_id],
                 version=partner.version, control=control_number(key), date=f"{stamp:%Y%m%d}",
                 time=f"{stamp:%H%M}", usage=partner.usage)
    parse(data)  # we never send what we would reject ourselves (e.g. a value over its element's length)
    return data


def emit_850(cmd: SendPurchaseOrder, partner: Partner, key: str, at: datetime) -> bytes:
    """The 850 interchange for a PO revision, from us to the supplier."""
    return _envelope("850", purchase_order(cmd, at), partner, key, at, outbound=True)


def emit_855(ack: SupplierAcknowledged, partner: Partner, key: str) -> bytes:
    """The 855 a supplier sends for an acknowledgment (the supplier simulator's side, and round trips)."""
    return _envelope("855", acknowledgment(ack), partner, key, ack.acknowledged_at, outbound=False)


def emit_856(asn: ShipmentNotified, partner: Partner, key: str) -> bytes:
    """The 856 a supplier sends for a shipment."""
    return _envelope("856", ship_notice(asn), partner, key, asn.shipped_at, outbound=False)


def emit_810(inv: InvoiceReceived, partner: Partner, key: str) -> bytes:
    """The 810 a supplier sends for an invoice."""
    at = datetime.combine(inv.invoice_date, datetime.min.time(), tzinfo=UTC)
    return _envelope("810", invoice(inv), partner, key, at, outbound=False)


def _purchase_order(command: Command) -> SendPurchaseOrder:
    if (command.target, command.name) != ("supplier", "send_purchase_order"):
        raise PermanentError(f"the X12 sink does not carry out {command.target}.{command.name}")
    return SendPurchaseOrder.model_validate(command.payload)


class X12Sink:
    """Carries out supplier commands by dropping X12 interchanges in the outbox."""

    def __init__(self, drop: FileDrop, partner: Partner, clock: Clock) -> None:
        self.drop, self.partner, self.clock = drop, partner, clock

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """Write the 850 for supplier.send_purchase_order; the answer names the ISA13 and the file."""
        cmd = _purchase_order(command)
        at = datetime.fromtimestamp(self.clock.now(), UTC)
        control = control_number(idempotency_key)
        path = self.drop.write(f"850-{cmd.po_number}-rev{cmd.revision}-{control}.x12",
                               emit_850(cmd, self.partner, idempotency_key, at))
        return {"document": control, "file": path.name}


class X12HttpSink:
    """Carries out supplier commands by POSTing X12 interchanges to the partner's EDI mailbox.

    A retry of the same key posts the same ISA13 (and the same PO number and revision), which the
    mailbox takes once; connection errors and 5xx answers are TargetUnavailable, so delivery retries.
    """

    def __init__(self, client: MailboxClient, partner: Partner, clock: Clock) -> None:
        self.client, self.partner, self.clock = client, partner, clock

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        """POST the 850 for supplier.send_purchase_order; the answer names the ISA13."""
        cmd = _purchase_order(command)
        at = datetime.fromtimestamp(self.clock.now(), UTC)
        answer = self.client.post(emit_850(cmd, self.partner, idempotency_key, at))
        return {"document": control_number(idempotency_key), "po_number": cmd.po_number,
                "revision": cmd.revision, "duplicate": bool(answer.get("duplicate"))}

    def close(self) -> None:
        """Release connections."""
        self.client.close()


def x12_http_sink(url: str, clock: Clock) -> X12HttpSink:
    """The X12 sink for a ``x12+http(s)://host:port[?partner=..&us=..]`` mailbox URL."""
    base_url, partner = mailbox(url)
    return X12HttpSink(MailboxClient(base_url), partner, clock)
