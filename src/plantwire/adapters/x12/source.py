"""Inbound X12: bytes in, canonical events to the intake, a 997 out for every functional group.

``receive`` is the pure part: read and check every interchange, answer each group with a 997 and
map the accepted sets. Nothing is partially applied: if any set of the file is rejected or cannot be
mapped, no event of the file goes to the intake (the 997s still go out, saying what was wrong). An
interchange whose envelope cannot be read has no 997 home (TA1 territory) and raises InvalidEvent.

Two ways in: ``X12Source`` over a file drop, and ``X12MailboxSource`` polling a partner's HTTP EDI
mailbox (``GET /edi/outbound?after=N``). The mailbox source keeps its position as the other feed
pollers do (StateStore namespace ``watermark``, written after the intake kept the events) and puts
the 997s it owes in an outbox in that same transaction; they are POSTed back from there, so a crash
neither loses an acknowledgment nor (the partner deduping on ISA13) doubles one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from plantwire.adapters._common import backoff, issues_of
from plantwire.adapters.x12.ack import GroupAck, ack_issues, group_ack, read_997, write_997
from plantwire.adapters.x12.client import FileDrop
from plantwire.adapters.x12.envelope import read
from plantwire.adapters.x12.http_client import AsyncMailboxClient, mailbox
from plantwire.adapters.x12.mapping import Partner
from plantwire.adapters.x12.translate import to_events
from plantwire.adapters.x12.validate import check_interchange
from plantwire.errors import InvalidEvent, Issue, PermanentError, RetryableError
from plantwire.ports import Clock, Intake, StateStore

log = logging.getLogger("plantwire.adapters.x12")
WATERMARKS, QUARANTINE, OUTBOX = "watermark", "quarantine", "x12_outbox"
KEPT = frozenset({"accepted", "duplicate"})

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
            except RetryableError:
                raise  # the drop or the intake is unavailable: the file stays in the inbox
            except PermanentError as error:
                self.drop.finish(path, False, "\n".join(f"{i['path']}: {i['message']} [{i['rule']}]"
                                                        for i in issues_of(error)))
                continue
            except Exception as error:  # a fault in one file must not end the file drop
                log.exception("x12: %s could not be processed", path.name)
                self.drop.finish(path, False, f"$: internal-error: {type(error).__name__}: {error}")
                continue
            report = "\n".join(f"{i.path}: {i.message}" for i in result.issues)
            self.drop.finish(path, result.accepted, report)
            results.append(result)
        return results


class X12MailboxSource:
    """Polls a partner's EDI mailbox: events to the intake, then position and owed 997s, then 997s out."""

    def __init__(self, name: str, system: str, base_url: str, partner: Partner, intake: Intake,
                 state: StateStore, clock: Clock, *, batch: int = 50, interval: float = 0.25) -> None:
        self.name, self.system, self.base_url, self.partner = name, system, base_url, partner
        self.intake, self.state, self.clock = intake, state, clock
        self.batch, self.interval = batch, interval

    def watermark(self) -> int:
        """The last mailbox seq whose documents are durably handled."""
        with self.state.transaction() as tx:
            return int(tx.get(WATERMARKS, self.name) or 0)

    def quarantined(self) -> list[Json]:
        """Documents refused (a 997 said why) or not readable at all, oldest first."""
        with self.state.transaction() as tx:
            return [v for _, v in tx.scan(QUARANTINE, prefix=f"{self.name}:")]

    async def poll_once(self, client: AsyncMailboxClient) -> int:
        """Send owed 997s, read one page after the watermark and handle it; the documents read."""
        await self.flush(client)
        page = await client.outbound(self.watermark(), self.batch)
        for doc in page["documents"]:
            await self._take(doc)
            await self.flush(client)
        return len(page["documents"])

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; back off while the mailbox or the intake is unavailable."""
        client, attempt = AsyncMailboxClient(self.base_url), 0
        try:
            while not stop.is_set():
                try:
                    read_ = await self.poll_once(client)
                    attempt, delay = 0, (0.0 if read_ >= self.batch else self.interval)
                except RetryableError as error:
                    attempt += 1
                    delay = backoff(attempt)
                    log.warning("%s: poll failed (try %d), next in %.1fs: %s",
                                self.name, attempt, delay, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay or 0.001)
        finally:
            await client.aclose()

    async def _take(self, doc: Json) -> None:
        seq, text = int(doc["seq"]), doc.get("x12")
        issues: list[Issue] = []
        acks: list[bytes] = []
        try:
            if not isinstance(text, str):
                raise InvalidEvent([Issue("$.x12", "x12-mailbox", f"document #{seq} carries no X12 text")])
            result = receive(text.encode(), self.partner, datetime.fromtimestamp(self.clock.now(), UTC))
        except InvalidEvent as error:
            issues = list(error.issues)
        else:
            acks, issues = result.acks_out, list(result.issues)
            issues += [i for ack in result.acks_in for i in ack_issues(ack)]
            issues += await self._accept(result.events)
        with self.state.transaction() as tx:
            for n, ack in enumerate(acks):
                tx.put(OUTBOX, f"{self.name}:{seq:012d}:{n:03d}", ack.decode())
            if issues:
                tx.put(QUARANTINE, f"{self.name}:{seq:012d}:000", {
                    "source": self.name, "seq": seq, "document": {k: v for k, v in doc.items() if k != "x12"},
                    "x12": text, "issues": [i.as_dict() for i in issues]})
            if seq > int(tx.get(WATERMARKS, self.name) or 0):
                tx.put(WATERMARKS, self.name, seq)
        if issues:
            log.warning("%s: document #%d (%s) refused: %s", self.name, seq, doc.get("set"),
                        [i.message for i in issues])

    async def _accept(self, events: list[Json]) -> list[Issue]:
        """Hand the events over; what the intake refuses comes back as issues."""
        if not events:
            return []
        try:
            receipts = await self.intake.accept(events)
        except PermanentError as error:
            return list(error.issues) if isinstance(error, InvalidEvent) else [
                Issue("$", type(error).__name__, str(error))]
        return [Issue(f"$[{n}]", "intake", str(r.get("errors") or r))
                for n, r in enumerate(receipts) if r.get("status") not in KEPT]

    async def flush(self, client: AsyncMailboxClient) -> int:
        """POST every owed 997, oldest first, removing each once the mailbox took it."""
        with self.state.transaction() as tx:
            owed = list(tx.scan(OUTBOX, prefix=f"{self.name}:"))
        for key, text in owed:
            await client.post(str(text).encode())
            with self.state.transaction() as tx:
                tx.delete(OUTBOX, key)
        return len(owed)


def x12_mailbox_source(url: str, intake: Intake, state: StateStore, clock: Clock, *,
                       name: str = "x12-supplier", system: str = "supplier") -> X12MailboxSource:
    """The mailbox poller for a ``x12+http(s)://host:port[?partner=..&us=..]`` URL."""
    base_url, partner = mailbox(url)
    return X12MailboxSource(name, system, base_url, partner, intake, state, clock)
