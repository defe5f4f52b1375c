"""What the four simulator adapters (``sim_erp``, ``sim_mes``, ``sim_wms``, ``sim_supplier``) share and
none of them owns: the cross-reference table type, the HTTP error boundary, command parsing, and the
durable poller over a simulator's ``GET /events?after=N`` feed.

The poller keeps its watermark in the StateStore (namespace ``watermark``, key = source name) and
writes it only after ``Intake.accept`` returned, so a crash re-reads a page and the hub dedupes on the
deterministic ids. What cannot be translated or what the intake rejects goes to the ``quarantine``
namespace with the simulator event and every issue, and the watermark moves on: visible, not silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from plantwire.adapters._common import accept_each, issues_of
from plantwire.domain.commands import COMMANDS
from plantwire.errors import (
    BusinessRuleViolation,
    InvalidEvent,
    Issue,
    PermanentError,
    RetryableError,
    TargetUnavailable,
)
from plantwire.ports import Command, Intake, StateStore

log = logging.getLogger("plantwire.adapters.sim")
Json = dict[str, Any]
V = TypeVar("V")
Translate = Callable[[Json], list[Json]]
MessageOf = Callable[[Any], str]
WATERMARKS, QUARANTINE = "watermark", "quarantine"
KEPT = frozenset({"accepted", "duplicate"})


# -- cross-references ------------------------------------------------------------------------------
class UnknownCrossReference(PermanentError):
    """An id has no cross-reference for a system: which system, field and value."""

    def __init__(self, system: str, field: str, value: object) -> None:
        self.system, self.field, self.value = system, field, value
        super().__init__(f"no cross-reference for {system} {field} {value!r}")


class CrossReference:
    """A one-to-one table golden id <-> system id, looked up both ways; unknown ids are permanent."""

    def __init__(self, system: str, field: str, pairs: Mapping[str, str]) -> None:
        self.system, self.field = system, field
        self._to_system = dict(pairs)
        self._to_golden = {v: k for k, v in pairs.items()}
        if len(self._to_golden) != len(self._to_system):
            raise ValueError(f"{system} {field}: a system id is mapped from two golden ids")

    def to_system(self, golden: str) -> str:
        """The system's id for a golden id."""
        try:
            return self._to_system[golden]
        except KeyError:
            raise UnknownCrossReference(self.system, f"golden {self.field}", golden) from None

    def to_golden(self, system_id: str) -> str:
        """The golden id for the system's id."""
        try:
            return self._to_golden[system_id]
        except KeyError:
            raise UnknownCrossReference(self.system, self.field, system_id) from None


def lookup(table: Mapping[str, V], value: str, system: str, field: str) -> V:
    """A one-way table lookup that names system, field and value when the value is unknown."""
    try:
        return table[value]
    except KeyError:
        raise UnknownCrossReference(system, field, value) from None


# -- pure helpers for translate.py ---------------------------------------------------------------
def cloud_event(source: str, event_id: str, type_: str, data: Json, time: str, plant: str) -> Json:
    """A structured-mode CloudEvent (contract version 1; partitionkey left to the contract)."""
    return {"specversion": "1.0", "id": event_id, "source": source, "type": type_, "time": time,
            "datacontenttype": "application/json", "contractversion": "1", "plant": plant, "data": data}


def plain(value: Any) -> str:
    """A number as an exact plain decimal string without trailing zeros ("20.000" -> "20")."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidEvent([Issue("$", "number", f"not a number: {value!r}")]) from None
    if not number.is_finite():
        raise InvalidEvent([Issue("$", "number", f"not a finite number: {value!r}")])
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def untranslatable(path: str, message: str) -> InvalidEvent:
    """A simulator event that cannot become a canonical event, with the reason."""
    return InvalidEvent([Issue(path, "untranslatable", message)])


# -- commands --------------------------------------------------------------------------------------
def parse_command(target: str, command: Command) -> BaseModel:
    """The command's payload as its canonical model; a wrong target, name or payload is permanent."""
    model = COMMANDS.get((command.target, command.name))
    if command.target != target or model is None:
        raise PermanentError(f"the {target} sink cannot execute {command.target}.{command.name}")
    try:
        return model.model_validate(command.payload)
    except ValidationError as bad:
        issues = [Issue("$." + ".".join(str(p) for p in e["loc"]), e["type"], e["msg"]) for e in bad.errors()]
        raise InvalidEvent(issues) from None


# -- the HTTP boundary -----------------------------------------------------------------------------
class TargetRefused(BusinessRuleViolation):
    """The system answered 4xx: a business refusal, with its status, message and body."""

    def __init__(self, system: str, status: int, message: str, body: Any) -> None:
        self.system, self.status, self.body = system, status, body
        super().__init__(f"{system} refused ({status}): {message}")


def _body(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text


def check(resp: httpx.Response, system: str, message_of: MessageOf) -> Any:
    """The JSON answer, or the error it stands for: 5xx and 408/429 retryable, other 4xx refusals."""
    body = _body(resp)
    status = resp.status_code
    if status >= 500 or status in (408, 429):
        raise TargetUnavailable(f"{system} answered {status}: {message_of(body)}")
    if status >= 400:
        raise TargetRefused(system, status, message_of(body), body)
    return body


def unavailable(system: str, error: httpx.HTTPError) -> TargetUnavailable:
    """A transport failure as the retryable error it is; a timeout may have taken effect."""
    if isinstance(error, httpx.TimeoutException):
        return TargetUnavailable(f"{system} did not answer in time (it may have carried the call out): "
                                 f"{type(error).__name__}")
    return TargetUnavailable(f"{system} unreachable: {type(error).__name__}: {error}")


def call(http: httpx.Client, system: str, message_of: MessageOf, method: str, path: str,
         **kwargs: Any) -> Any:
    """One synchronous request through the error boundary."""
    try:
        resp = http.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        raise unavailable(system, error) from error
    return check(resp, system, message_of)


def generic_message(body: Any) -> str:
    """The error text of an answer whose shape is not known."""
    return str(body)[:500]


async def fetch_events(http: httpx.AsyncClient, system: str, after: int, limit: int) -> Json:
    """One page of a simulator's event feed."""
    try:
        resp = await http.get("/events", params={"after": after, "limit": limit})
    except httpx.HTTPError as error:
        raise unavailable(system, error) from error
    page = check(resp, system, generic_message)
    if not isinstance(page, dict) or not isinstance(page.get("events"), list):
        raise TargetUnavailable(f"{system} sent an unreadable feed page")
    return page


# -- the poller ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PollResult:
    """What one poll did."""

    read: int
    emitted: int
    accepted: int
    duplicates: int
    quarantined: int
    watermark: int


def backoff(attempt: int, base: float = 0.2, cap: float = 10.0) -> float:
    """Seconds before try `attempt` (1-based): exponential, capped, with up to half of it as jitter."""
    delay: float = min(cap, base * 2.0 ** max(0, attempt - 1))
    return delay * (1 - 0.5 * random.random())


class FeedSource:
    """Polls one simulator's event feed and hands canonical CloudEvents to the intake."""

    def __init__(self, name: str, system: str, base_url: str, translate: Translate, intake: Intake,
                 state: StateStore, *, batch: int = 200, interval: float = 0.5, timeout: float = 5.0) -> None:
        self.name, self.system, self.base_url = name, system, base_url
        self.translate, self.intake, self.state = translate, intake, state
        self.batch, self.interval, self.timeout = batch, interval, timeout

    def watermark(self) -> int:
        """The last simulator seq whose events are durably kept (or quarantined)."""
        with self.state.transaction() as tx:
            return int(tx.get(WATERMARKS, self.name) or 0)

    def quarantined(self) -> list[Json]:
        """Everything this source quarantined, oldest first."""
        with self.state.transaction() as tx:
            return [v for _, v in tx.scan(QUARANTINE, prefix=f"{self.name}:")]

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout)

    async def poll_once(self, http: httpx.AsyncClient | None = None) -> PollResult:
        """Read one page after the watermark, hand it over, then move the watermark."""
        after = self.watermark()
        if http is None:
            async with self._client() as own:
                page = await fetch_events(own, self.system, after, self.batch)
        else:
            page = await fetch_events(http, self.system, after, self.batch)
        sim_events = page["events"]
        result = await self._hand_over(sim_events, next_after=int(page.get("next_after") or after))
        return result

    async def push(self, sim_events: Sequence[Json]) -> PollResult:
        """Events pushed by a webhook: the same translation and intake, the watermark untouched."""
        return await self._hand_over(list(sim_events), next_after=None)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; back off while the simulator or the intake is unavailable."""
        attempt = 0
        async with self._client() as http:
            while not stop.is_set():
                try:
                    result = await self.poll_once(http)
                    attempt, delay = 0, (0.0 if result.read >= self.batch else self.interval)
                except RetryableError as error:
                    attempt += 1
                    delay = backoff(attempt)
                    log.warning("%s: poll failed (try %d), next in %.1fs: %s",
                                self.name, attempt, delay, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay or 0.001)

    async def _hand_over(self, sim_events: list[Json], next_after: int | None) -> PollResult:
        quarantine: dict[str, Json] = {}
        batch: list[tuple[Json, Json]] = []  # (sim event, cloud event)
        for sim_event in sim_events:
            try:
                batch.extend((sim_event, ce) for ce in self.translate(sim_event))
            except PermanentError as error:
                self._quarantine(quarantine, sim_event, 0, None, issues_of(error))
        receipts = await accept_each(self.intake, [ce for _, ce in batch])
        accepted = duplicates = 0
        for n, ((sim_event, ce), receipt) in enumerate(zip(batch, receipts, strict=True)):
            status = receipt.get("status")
            accepted += status == "accepted"
            duplicates += status == "duplicate"
            if status not in KEPT:
                self._quarantine(quarantine, sim_event, n + 1, ce, receipt.get("errors") or [receipt])
        self._commit(quarantine, next_after)
        mark = next_after if next_after is not None else self.watermark()
        return PollResult(len(sim_events), len(batch), accepted, duplicates, len(quarantine), mark)

    def _quarantine(self, into: dict[str, Json], sim_event: Json, n: int, cloud_event: Json | None,
                    issues: Iterable[Any]) -> None:
        seq = int(sim_event.get("seq") or 0)
        key = f"{self.name}:{seq:012d}:{n:03d}"
        into[key] = {"source": self.name, "seq": seq, "sim_event": sim_event,
                     "cloud_event": cloud_event, "issues": list(issues)}
        log.warning("%s: quarantined sim event #%d: %s", self.name, seq, into[key]["issues"])

    def _commit(self, quarantine: dict[str, Json], next_after: int | None) -> None:
        """Quarantine and watermark in one transaction, after the intake kept the batch."""
        with self.state.transaction() as tx:
            for key, item in quarantine.items():
                tx.put(QUARANTINE, key, item)
            if next_after is not None and next_after > int(tx.get(WATERMARKS, self.name) or 0):
                tx.put(WATERMARKS, self.name, next_after)
