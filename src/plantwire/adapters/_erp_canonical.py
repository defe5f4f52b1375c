"""Building canonical models from translated fields, with pydantic's complaints turned into located issues."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from plantwire.errors import InvalidEvent, Issue

M = TypeVar("M", bound=BaseModel)


def build(model: type[M], data: dict[str, Any], where: str) -> M:
    """`model` from `data`; a contract violation names the vendor document and the canonical field."""
    try:
        return model.model_validate(data)
    except ValidationError as bad:
        issues = []
        for err in bad.errors(include_url=False, include_input=False):
            path = "$"
            for part in err["loc"]:
                path += f"[{part}]" if isinstance(part, int) else f".{part}"
            issues.append(Issue(f"{where} -> {path}", str(err["type"]), str(err["msg"])))
        raise InvalidEvent(issues) from None


def cloud_event(
    source: str, event_id: str, type_: str, data: BaseModel, plant: str | None, time: str | None = None
) -> dict[str, Any]:
    """A structured-mode CloudEvent (contract version 1) carrying a canonical model."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": type_,
        "datacontenttype": "application/json",
        "contractversion": "1",
    }
    if time is not None:
        event["time"] = time
    if plant is not None:
        event["plant"] = plant
    event["data"] = data.model_dump(mode="json", exclude_none=True)
    return event
