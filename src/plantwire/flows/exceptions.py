"""Business exceptions: one record per problem a person must act on, with what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plantwire.errors import NotFound, PermanentError
from plantwire.ports import Clock, StateStore, StateTx

EXCEPTIONS = "exceptions"
COUNTERS = "counters"


def record_exception(tx: StateTx, now: float, flow: str, key: str, kind: str, message: str,
                     action: str, details: dict[str, Any],
                     failure: dict[str, Any] | None = None) -> int:
    """Write a new open exception; returns its id. `failure` names the failed command, if any."""
    ex_id = int(tx.add(COUNTERS, "exceptions", 1))
    tx.put(EXCEPTIONS, f"{ex_id:010d}", {
        "id": ex_id, "flow": flow, "key": key, "kind": kind, "message": message, "action": action,
        "plant": details.get("plant"), "supplier": details.get("supplier"), "details": details,
        "raised_at": now, "status": "open", "note": None, "resolved_at": None,
        "failed_step": failure["step"] if failure else None,
        "failed_command": failure["command"] if failure else None, "retries": 0,
    })
    return ex_id


RETRYING = "exceptions.retrying"
"""Exception ids being retried, by flow, key and step: what a command that went through closes."""
SEP = "\x1f"


def close_retried(tx: StateTx, flow: str, key: str, step: str, now: float) -> None:
    """A retried command went through: its exceptions are resolved (one look-up, no scan: this
    runs for every command that completes)."""
    where = SEP.join((flow, key, step))
    ids = tx.get(RETRYING, where)
    if ids is None:
        return
    tx.delete(RETRYING, where)
    for ex_id in ids:
        ex = tx.get(EXCEPTIONS, f"{ex_id:010d}")
        if ex is not None and ex["status"] == "retrying":
            ex.update(status="resolved", note="the retried command went through", resolved_at=now)
            tx.put(EXCEPTIONS, f"{ex_id:010d}", ex)


class ExceptionStateError(PermanentError):
    """The exception is not open, or the note is missing."""


@dataclass
class BusinessExceptions:
    """The operator's view of business exceptions."""

    state: StateStore
    clock: Clock

    def list(self, status: str | None = "open", kind: str | None = None,
             plant: str | None = None) -> list[dict[str, Any]]:
        """Exceptions, oldest first, each with its age in seconds."""
        now = self.clock.now()
        with self.state.transaction() as tx:
            rows = [v for _, v in tx.scan(EXCEPTIONS)]
        picked = [r for r in rows if (status is None or r["status"] == status)
                  and (kind is None or r["kind"] == kind) and (plant is None or r["plant"] == plant)]
        for r in picked:
            r["age_seconds"] = (r["resolved_at"] or now) - r["raised_at"]
        return picked

    def show(self, ex_id: int) -> dict[str, Any]:
        """One exception."""
        with self.state.transaction() as tx:
            found = tx.get(EXCEPTIONS, f"{ex_id:010d}")
        if found is None:
            raise NotFound(f"no business exception with id {ex_id}")
        return dict(found)

    def retry(self, ex_id: int) -> dict[str, Any]:
        """Send the failed command of an exception again (same idempotency key), after a person has
        fixed what made the target refuse it. Refused when the flow already compensated it."""
        with self.state.transaction() as tx:
            key = f"{ex_id:010d}"
            found = tx.get(EXCEPTIONS, key)
            if found is None:
                raise NotFound(f"no business exception with id {ex_id}")
            if found["status"] != "open" or not found.get("failed_step"):
                raise ExceptionStateError(
                    f"exception {ex_id} is {found['status']} and names "
                    f"{'no failed command' if not found.get('failed_step') else 'a command'}; only an open "
                    "exception about a failed command can be retried (resolve the others with a note)")
            ns = f"flow:{found['flow']}"
            instance = tx.get(ns, found["key"])
            step = found["failed_step"]
            if instance is None or instance["status"] != "running":
                raise ExceptionStateError(f"flow {found['flow']} {found['key']} is no longer running")
            if any("~" in name for name in instance["steps"]):
                raise ExceptionStateError(
                    f"flow {found['flow']} {found['key']} already compensated; fix the data in the "
                    "target and send a corrected event instead")
            instance["steps"][step]["status"] = "sent"
            tx.put(ns, found["key"], instance)
            now = self.clock.now()
            ordinal = int(tx.add(COUNTERS, "outbox", 1))
            tx.put("outbox", f"{ordinal:015d}", {
                "id": instance["steps"][step]["id"], "flow": found["flow"], "key": found["key"],
                "step": step, "command": found["failed_command"], "attempts": 0, "next_at": now,
                "created_at": now})
            found.update(status="retrying", retries=int(found.get("retries", 0)) + 1)
            tx.put(EXCEPTIONS, key, found)
            where = SEP.join((found["flow"], found["key"], step))
            tx.put(RETRYING, where, sorted({*(tx.get(RETRYING, where) or ()), found["id"]}))
        return dict(found)

    def resolve(self, ex_id: int, note: str) -> dict[str, Any]:
        """Close an exception with a note saying what was done."""
        if not note.strip():
            raise ExceptionStateError("a note saying what was done is required")
        with self.state.transaction() as tx:
            found = tx.get(EXCEPTIONS, f"{ex_id:010d}")
            if found is None:
                raise NotFound(f"no business exception with id {ex_id}")
            if found["status"] not in ("open", "retrying"):
                raise ExceptionStateError(f"exception {ex_id} is already {found['status']}")
            found.update(status="resolved", note=note.strip(), resolved_at=self.clock.now())
            tx.put(EXCEPTIONS, f"{ex_id:010d}", found)
        return dict(found)
