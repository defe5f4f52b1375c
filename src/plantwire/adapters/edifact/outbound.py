"""Outbound interchanges: the UNB/UNH/UNT/UNZ wrapping and the CONTRL that answers a received one.

Control references are derived from the idempotency key, so a retried send writes the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from plantwire.adapters.edifact.envelope import Fault, Interchange
from plantwire.adapters.edifact.syntax import DEFAULT, Delimiters, Segment, seg, serialize

__all__ = ["contrl", "control_ref", "interchange"]

ACCEPTED, REJECTED = "7", "4"


def control_ref(key: str) -> str:
    """A 14-character interchange control reference (UNB 0020) derived from an idempotency key."""
    return hashlib.sha256(key.encode()).hexdigest()[:14].upper()


def interchange(messages: Sequence[tuple[str, list[Segment]]], *, sender: str, recipient: str, ref: str,
                at: datetime, version: str = "D:96A:UN", syntax: tuple[str, str] = ("UNOC", "3"),
                d: Delimiters = DEFAULT) -> bytes:
    """UNA, UNB, one UNH..UNT per (message type, body), UNZ, as bytes."""
    when = at.astimezone(UTC)
    stamp = (when.strftime("%y%m%d"), when.strftime("%H%M"))
    out = [seg("UNB", syntax, (sender, "ZZZ"), (recipient, "ZZZ"), stamp, ref)]
    for n, (type_, body) in enumerate(messages, start=1):
        out.append(seg("UNH", str(n), (type_, *version.split(":"))))
        out += body
        out.append(seg("UNT", str(len(body) + 2), str(n)))
    out.append(seg("UNZ", str(len(messages)), ref))
    return serialize(out, d)


def contrl(ic: Interchange, *, our_id: str, at: datetime) -> bytes:
    """The CONTRL for a received interchange: UCI accepted or rejected, a UCM per message with UCS/UCD."""
    faults = [f for f in ic.faults if f.message is None]
    message_faults = {i: [f for f in ic.faults if f.message == i] for i in range(len(ic.messages))}
    rejected = bool(ic.faults)
    action = REJECTED if rejected else ACCEPTED
    uci: list[str | tuple[str, ...]] = [ic.control_ref, (ic.sender,), (ic.recipient,), action]
    if faults:
        uci += _where(faults[0])
    body: list[Segment] = [seg("UCI", *uci)]
    for i, msg in enumerate(ic.messages):
        bad = message_faults[i]
        ident = (msg.type, msg.version, msg.release, msg.agency)
        ucm: list[str | tuple[str, ...]] = [msg.ref, ident, REJECTED if bad else ACCEPTED]
        if bad:
            ucm.append(bad[0].code)
        body.append(seg("UCM", *ucm))
        for f in bad:
            body.append(seg("UCS", str(f.position or 1), f.code))
            if f.element:
                body.append(seg("UCD", f.code, (str(f.element), str(f.component or ""))))
    version = "4:1:UN" if ic.syntax[1] == "4" else "D:3:UN"
    key = f"CONTRL/{ic.sender}/{ic.control_ref}"
    return interchange([("CONTRL", body)], sender=our_id, recipient=ic.sender or "UNKNOWN",
                       ref=control_ref(key), at=at, version=version,
                       syntax=(ic.syntax[0] or "UNOC", ic.syntax[1] or "3"), d=ic.delimiters)


def _where(f: Fault) -> list[str | tuple[str, ...]]:
    """UCI 0085 error code, 0013 service segment tag, S011 element position."""
    out: list[str | tuple[str, ...]] = [f.code]
    if f.segment is not None and f.segment.tag.startswith("UN"):
        out.append(f.segment.tag)
        if f.element:
            out.append((str(f.element), str(f.component or "")))
    return out
