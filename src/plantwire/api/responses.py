"""JSON responses and the mapping from the error tree to HTTP status codes."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from plantwire.errors import (
    NotFound,
    PermanentError,
    PlantwireError,
    RequestRejected,
    RetryableError,
)
from plantwire.service.answers import error_body


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response rendered with orjson."""
    return Response(orjson.dumps(body, default=str), status_code=status,
                    media_type="application/json", headers=headers)


def error_parts(exc: PlantwireError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """An error from the tree as HTTP status, body and extra headers (never a 5xx for bad input)."""
    if isinstance(exc, RequestRejected):
        return exc.status, error_body(exc.status, exc.rule, str(exc), exc.path), {}
    if isinstance(exc, NotFound):
        return 404, error_body(404, "not-found", str(exc)), {}
    if isinstance(exc, RetryableError):
        return 503, error_body(503, "unavailable", str(exc)), {"Retry-After": "1"}
    if isinstance(exc, PermanentError):
        return 409, error_body(409, type(exc).__name__, str(exc)), {}
    return 400, error_body(400, type(exc).__name__, str(exc)), {}


def error_response(exc: PlantwireError) -> Response:
    """An error from the tree as its HTTP answer."""
    status, body, headers = error_parts(exc)
    return json_response(body, status, headers or None)
