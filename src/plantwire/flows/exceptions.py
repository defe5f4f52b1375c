"""Business exceptions: one record per problem a person must act on, with what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plantwire.errors import NotFound, PermanentError
from plantwire.ports import Clock, StateStore, StateTx

EXCEPTIONS = "exceptions"
COUNTERS = "counters"


def record_exception(tx: StateTx, now: float, flow: str, key: str, kind: str, message: str,
                     action: str, details: dict[str, Any]) -> int:
    """Write a new open exception; returns its id."""
    ex_id = int(tx.add(COUNTERS, "exceptions", 1))
    tx.put(EXCEPTIONS, f"{ex_id:010d}", {
        "id": ex_id, "flow": flow, "key": key, "kind": kind, "message": message, "action": action,
        "plant": details.get("plant"), "supplier": details.get("supplier"), "details": details,
        "raised_at": now, "status": "open", "note": None, "resolved_at": None,
    })
    return ex_id


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

    def resolve(self, ex_id: int, note: str) -> dict[str, Any]:
        """Close an exception with a note saying what was done."""
        if not note.strip():
            raise ExceptionStateError("a note saying what was done is required")
        with self.state.transaction() as tx:
            found = tx.get(EXCEPTIONS, f"{ex_id:010d}")
            if found is None:
                raise NotFound(f"no business exception with id {ex_id}")
            if found["status"] != "open":
                raise ExceptionStateError(f"exception {ex_id} is already {found['status']}")
            found.update(status="resolved", note=note.strip(), resolved_at=self.clock.now())
            tx.put(EXCEPTIONS, f"{ex_id:010d}", found)
        return dict(found)
