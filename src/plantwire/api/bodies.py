"""The JSON bodies operator routes accept. Each refuses a field it does not know with 422 at that
field's path: a typo (`reson`, `notes`) or a filter we do not have (`key`) must never be dropped
silently while the request does something else, or more, than the operator meant."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class Strict(BaseModel):
    """A request body: unknown fields are a 422."""

    model_config = ConfigDict(extra="forbid")


class ReplayRequest(Strict):
    """POST /v1/replay."""

    subscriber: str
    types: list[str] | None = None
    since: str | None = None
    dry_run: bool = False


class Reason(Strict):
    """Why a dead letter is discarded."""

    reason: Text


class Note(Strict):
    """A person's note on resolving or rejecting something."""

    note: Text


class OptionalNote(Strict):
    """A note that may be left out (approving a held event)."""

    note: Annotated[str, Field(max_length=2000)] = ""


class XrefChange(Strict):
    """PUT /v1/xref/{system}/{kind}/{system_id}."""

    golden: Annotated[str, Field(min_length=1, max_length=256)]
    why: Annotated[str, Field(max_length=2000)] = ""


class RoundingRule(Strict):
    """PUT /v1/uom/rounding/{unit}."""

    places: int
    mode: str


class MappedValue(Strict):
    """PUT /v1/valuemaps/{partner}/{map}/{partner_value}."""

    value: Annotated[str, Field(min_length=1, max_length=256)]


class RuleSet(Strict):
    """PUT /v1/dq/rules."""

    rules: list[Any]
