"""The one error shape every HTTP answer of the hub and the edge uses. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plantwire.errors import capped


def error_body(status: int, rule: str, message: str, path: str = "$") -> dict[str, Any]:
    """{"error": {status, rule, path, message}}, each part capped (errors.capped)."""
    return {"error": {"status": status, "rule": capped(rule, 100), "path": capped(path),
                      "message": capped(message)}}


def request_validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """A 422 for FastAPI's request validation errors: the first one, its path from the body's root
    ($.key, not $.body.key) or the parameter's name."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid", "type": "invalid"}
    loc = tuple(first["loc"])
    loc = loc[1:] if loc[:1] in (("body",), ("path",), ("query",)) else loc
    path = "$." + ".".join(str(p) for p in loc) if loc else "$"
    return error_body(422, str(first["type"]), str(first["msg"]), path)
