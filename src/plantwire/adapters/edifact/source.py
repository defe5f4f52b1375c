"""The EDIFACT source: interchange bytes in -> canonical events to an Intake, and the CONTRL back.

All or nothing: an interchange with any syntax, envelope or mapping fault hands no event to the
intake (nothing is partially applied), and its CONTRL rejects it naming each fault's position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from plantwire.adapters.edifact.envelope import INVALID_VALUE, Fault, Interchange, Message, read_interchange
from plantwire.adapters.edifact.outbound import contrl
from plantwire.adapters.edifact.syntax import locate
from plantwire.adapters.edifact.translate import NO_CONTRACT, Partner, to_event
from plantwire.domain.catalog import CATALOG
from plantwire.errors import InvalidEvent, Issue
from plantwire.ports import Intake

__all__ = ["EdifactSource", "Received", "receive"]

SEGMENT_NUMBER = re.compile(r"^segment (\d+) ")


@dataclass(frozen=True)
class Received:
    """What one interchange gave: its events (empty when rejected), faults, unmapped types, the CONTRL."""

    interchange: Interchange
    events: list[dict[str, Any]]
    contrl: bytes
    unmapped: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.interchange.ok

    def error(self) -> InvalidEvent:
        """The faults as one InvalidEvent (for quarantine and logs)."""
        return InvalidEvent([f.issue for f in self.interchange.faults])


def receive(data: bytes, *, partner: Partner, our_id: str, at: datetime) -> Received:
    """Read, check and translate one interchange; pure (`at` stamps the CONTRL)."""
    ic = read_interchange(data)
    events: list[dict[str, Any]] = []
    unmapped: list[str] = []
    faults = list(ic.faults)
    for index, msg in enumerate(ic.messages):
        if any(f.message == index for f in faults):
            continue
        try:
            event = _checked(ic, msg, to_event(ic, msg, partner))
        except InvalidEvent as exc:
            faults += [_mapping_fault(ic, index, issue) for issue in exc.issues]
            continue
        if event is None:
            unmapped.append(f"{msg.type}: {NO_CONTRACT.get(msg.type, 'no canonical contract')}")
        else:
            events.append(event)
    checked = Interchange(ic.document, ic.delimiters, ic.header, ic.messages, tuple(faults))
    answer = contrl(checked, our_id=our_id, at=at)
    return Received(checked, events if not faults else [], answer, unmapped)


def _checked(ic: Interchange, msg: Message, event: dict[str, Any] | None) -> dict[str, Any] | None:
    """The event when its data meets the contract; else issues located at the message's UNH."""
    contract = CATALOG.get(event["type"], "1") if event else None
    if event is None or contract is None:
        return event
    try:
        contract.model.model_validate(event["data"])
    except ValidationError as exc:
        where = locate(ic.document.text, msg.segments[0]) if ic.document else f"message {msg.ref}"
        raise InvalidEvent([Issue(where, "contract", f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
                            for e in exc.errors(include_url=False)]) from None
    return event


def _mapping_fault(ic: Interchange, index: int, issue: Any) -> Fault:
    match = SEGMENT_NUMBER.match(issue.path)
    unh = ic.messages[index].segments[0]
    position = int(match.group(1)) - unh.number + 1 if match else 1
    return Fault(issue, INVALID_VALUE, index, None, None, None, position)


class EdifactSource:
    """Hands the events of accepted interchanges to the intake; returns the CONTRL to send back."""

    def __init__(self, intake: Intake, *, partner: Partner, our_id: str) -> None:
        self.intake, self.partner, self.our_id = intake, partner, our_id

    async def receive(self, data: bytes, at: datetime) -> Received:
        """Process one interchange; the events are durable when this returns (the intake's promise)."""
        received = receive(data, partner=self.partner, our_id=self.our_id, at=at)
        if received.events:
            await self.intake.accept(received.events)
        return received
