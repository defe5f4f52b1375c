"""Inbound X12: bytes in, canonical events to the intake, a 997 out for every functional group.

``receive`` is the pure part: read and check every interchange, answer each group with a 997 and
map the accepted sets. Nothing is partially applied: if any set of the file is rejected or cannot be
mapped, no event of the file goes to the intake (the 997s still go out, saying what was wrong). An
interchange whose envelope cannot be read has no 997 home (TA1 territory) and raises InvalidEvent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from plantwire.adapters.x12.ack import GroupAck, group_ack, read_997, write_997
from plantwire.adapters.x12.client import FileDrop
from plantwire.adapters.x12.envelope import read
from plantwire.adapters.x12.mapping import Partner
from plantwire.adapters.x12.translate import to_events
from plantwire.adapters.x12.validate import check_interchange
from plantwire.errors import InvalidEvent, Issue
from plantwire.ports import Clock, Intake

Json = dict[str, Any]


@dataclass
class Received:
    """What one inbound file gave: events (only if all of it was good), 997s to send, 997s received."""

    events: list[Json] = field(default_factory=list)
    acks_out: list[bytes] = field(default_factory=list)
    acks_in: list[GroupAck] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """True when every set was accepted and mapped."""
        return not self.issues


def receive(data: bytes, partner: Partner, now: datetime) -> Received:
    """Read, check, acknowledge and map one inbound file (pure: the time comes in)."""
    out = Received()
    interchanges = read(data)
    for ic in interchanges:
        check_interchange(ic)
    broken = [p.issue() for ic in interchanges for p in ic.problems]
    if broken:
        raise InvalidEvent(broken)
    stamp = now.astimezone(UTC)
    for ic in interchanges:
        for group in ic.groups:
            out.issues += [p.issue() for p in group.problems]
            if group.functional_id != "FA":
                ack = group_ack(group)
                out.acks_out.append(write_997(ic, group, ack, f"{stamp:%Y%m%d}", f"{stamp:%H%M}"))
            for tset in group.sets:
                out.issues += [p.issue() for p in tset.problems]
                if not tset.accepted or group.codes:
                    continue
                try:
                    if tset.id == "997":
                        out.acks_in.append(read_997(tset))
                    out.events += to_events(ic, group, tset, partner)
                except InvalidEvent as error:
                    out.issues += error.issues
    if out.issues:
        out.events = []
    return out


class X12Source:
    """Processes the file drop's inbox: events to the intake, then 997s to the outbox, then done/."""

    def __init__(self, intake: Intake, drop: FileDrop, partner: Partner, clock: Clock) -> None:
        self.intake, self.drop, self.partner, self.clock = intake, drop, partner, clock

    async def receive(self, data: bytes, name: str = "inbound") -> Received:
        """Handle one file's bytes; events are kept before any 997 is written."""
        result = receive(data, self.partner, datetime.fromtimestamp(self.clock.now(), UTC))
        if result.events:
            await self.intake.accept(result.events)
        for n, ack in enumerate(result.acks_out, start=1):
            self.drop.write(f"997-{name}-{n}.x12", ack)
        return result

    async def poll(self) -> list[Received]:
        """Process every waiting file once; unreadable or rejected files go to error/ with a report."""
        results = []
        for path in self.drop.pending():
            try:
                result = await self.receive(self.drop.read(path), path.stem)
            except InvalidEvent as error:
                self.drop.finish(path, False, "\n".join(f"{i.path}: {i.message}" for i in error.issues))
                continue
            report = "\n".join(f"{i.path}: {i.message}" for i in result.issues)
            self.drop.finish(path, result.accepted, report)
            results.append(result)
        return results
