"""JSON-RPC calls to a Tryton server (trytond 7/8); its errors become the hub's at this boundary.

Error tree at this boundary (the classes below sit in the hub's tree of ``plantwire.errors``)::

    TargetUnavailable       connection refused or reset, timeout, HTTP 5xx / 408 / 429, a lost
                            session that cannot be renewed right now           (retryable)
    TrytonUserError         Tryton raised UserError (a closed period, a missing unit, a wrong
                            state): Tryton's own message and description        (permanent)
    TrytonWarning           Tryton raised UserWarning: a question for a person; the sink
                            acknowledges it only where the command declares it safe (permanent)
    TrytonRefused           anything else Tryton refused: AccessError, 403, a bad login (permanent)

The password is held in memory only, never logged or put in an error message.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from plantwire.errors import BusinessRuleViolation, PermanentError, TargetUnavailable

Json = dict[str, Any]
CONTEXT_KEYS = ("company", "companies", "company_filter", "employee", "employees", "language")


class TrytonUserError(BusinessRuleViolation):
    """Tryton refused the call with a UserError; `message` and `description` are Tryton's."""

    def __init__(self, method: str, message: str, description: str = "") -> None:
        self.method, self.message, self.description = method, message, description
        detail = f" ({description})" if description else ""
        super().__init__(f"tryton refused {method}: {message}{detail}")


class TrytonWarning(PermanentError):
    """Tryton asked for confirmation (UserWarning `name`); not acknowledged unless declared safe."""

    def __init__(self, method: str, name: str, message: str, description: str = "") -> None:
        self.method, self.name, self.message, self.description = method, name, message, description
        super().__init__(f"tryton warning on {method} needs a person: {message} [{name}]"
                         + (f" ({description})" if description else ""))


class TrytonRefused(PermanentError):
    """Tryton refused the call for another reason (access rights, not exposed, bad login)."""


# -- Tryton's JSON types ---------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """Python values as Tryton JSON (dates, datetimes, Decimals), recursively."""
    if isinstance(value, dt.datetime):
        return {"__class__": "datetime", "year": value.year, "month": value.month, "day": value.day,
                "hour": value.hour, "minute": value.minute, "second": value.second,
                "microsecond": value.microsecond}
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """Tryton JSON as Python values, recursively."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    cls = value.get("__class__")
    if cls == "date":
        return dt.date(value["year"], value["month"], value["day"])
    if cls == "datetime":
        return dt.datetime(value["year"], value["month"], value["day"], value["hour"], value["minute"],
                           value["second"], value.get("microsecond", 0))
    if cls == "Decimal":
        return Decimal(value["decimal"])
    if cls == "timedelta":
        return dt.timedelta(seconds=value["seconds"])
    return {k: decode(v) for k, v in value.items()}


def error_of(method: str, error: Any) -> PermanentError:
    """The hub error for Tryton's ``{"error": [name, args]}``."""
    name, args = (error[0], error[1]) if isinstance(error, list) and len(error) == 2 else (str(error), [])
    args = args if isinstance(args, list) else [args]
    if name == "UserError":
        description = str(args[1] or "") if len(args) > 1 else ""
        return TrytonUserError(method, str(args[0]) if args else "", description)
    if name == "UserWarning":
        return TrytonWarning(method, str(args[0]) if args else "", str(args[1]) if len(args) > 1 else "",
                             str(args[2] or "") if len(args) > 2 else "")
    return TrytonRefused(f"tryton refused {method}: {name}: {args[0] if args else ''}")


class TrytonClient:
    """A logged-in JSON-RPC session with the user's context sent on every model call."""

    def __init__(self, url: str, database: str, user: str, password: str, *, timeout: float = 15.0,
                 http: httpx.Client | None = None) -> None:
        self.endpoint = f"{url.rstrip('/')}/{database}/rpc/"
        self.server = f"{url.rstrip('/')}/rpc/"
        self.user, self._password = user, password
        self.http = http or httpx.Client(timeout=timeout)
        self._auth: str | None = None
        self._ids = itertools.count(1)
        self.context: Json = {}
        self.calls = 0

    def __repr__(self) -> str:
        return f"TrytonClient({self.endpoint!r}, user={self.user!r})"

    def _post(self, method: str, params: Sequence[Any], auth: bool, server: bool = False) -> Any:
        headers = {"Authorization": self._auth} if auth and self._auth else {}
        body = {"id": next(self._ids), "method": method, "params": encode(list(params))}
        try:
            resp = self.http.post(self.server if server else self.endpoint, json=body, headers=headers)
        except httpx.TimeoutException as error:
            raise TargetUnavailable(f"tryton did not answer {method} in time (it may have carried it "
                                    f"out): {type(error).__name__}") from error
        except httpx.HTTPError as error:
            raise TargetUnavailable(f"tryton unreachable: {type(error).__name__}: {error}") from error
        self.calls += 1
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise TargetUnavailable(f"tryton answered {resp.status_code} to {method}")
        if resp.status_code == 401:
            raise _SessionLost(method)
        if resp.status_code >= 400:
            raise TrytonRefused(f"tryton answered {resp.status_code} to {method}")
        try:
            answer = resp.json()
        except ValueError:
            raise TargetUnavailable(f"tryton sent an unreadable answer to {method}") from None
        if answer.get("error") is not None:
            raise error_of(method, answer["error"])
        return decode(answer.get("result"))

    def login(self) -> Json:
        """Open a session and load the user's context (company, employee, language)."""
        try:
            result = self._post("common.db.login", [self.user, {"password": self._password}, "en"], False)
        except _SessionLost:
            raise TrytonRefused(f"tryton refused the login of user {self.user!r}") from None
        if not isinstance(result, list) or len(result) < 2:
            raise TrytonRefused(f"tryton refused the login of user {self.user!r}")
        user_id, session = result[0], result[1]
        token = base64.b64encode(f"{self.user}:{user_id}:{session}".encode()).decode()
        self._auth = f"Session {token}"
        prefs = self._post("model.res.user.get_preferences", [True, {}], True)
        self.context = {k: prefs[k] for k in CONTEXT_KEYS if k in prefs}
        return {"user_id": user_id, **self.context}

    def call(self, method: str, *args: Any, context: Json | None = None) -> Any:
        """`model.<model>.<method>` with the positional args and the context last; logs in as needed."""
        if self._auth is None:
            self.login()
        ctx = {**self.context, **(context or {})}
        try:
            return self._post(method, [*args, ctx], True)
        except _SessionLost:
            self.login()  # the server restarted or the session expired: one fresh try
            try:
                return self._post(method, [*args, ctx], True)
            except _SessionLost:
                raise TargetUnavailable(f"tryton rejected a fresh session for {method}") from None

    def model(self, model: str, method: str, *args: Any, context: Json | None = None) -> Any:
        """Shorthand for ``call("model.<model>.<method>", ...)``."""
        return self.call(f"model.{model}.{method}", *args, context=context)

    def search_read(self, model: str, domain: list[Any], fields: list[str], *, order: list[Any] | None = None,
                    limit: int | None = None, context: Json | None = None) -> list[Json]:
        """Records matching a domain, with the given fields."""
        rows: list[Json] = self.model(model, "search_read", domain, 0, limit, order, fields, context=context)
        return rows

    def skip_warning(self, name: str) -> None:
        """Acknowledge a UserWarning once (what the Tryton client does when a person answers yes)."""
        self.model("res.user.warning", "skip", name, False)

    def version(self) -> str:
        """The server version (no session needed)."""
        return str(self._post("common.server.version", [], False, server=True))

    def close(self) -> None:
        """Log out and release connections."""
        if self._auth is not None:
            # logging out of a server that is gone changes nothing
            with contextlib.suppress(TargetUnavailable, PermanentError, _SessionLost):
                self._post("common.db.logout", [], True)
            self._auth = None
        self.http.close()


class _SessionLost(Exception):
    """HTTP 401: no session, or the server forgot it (internal to this module)."""

    def __init__(self, method: str) -> None:
        super().__init__(f"tryton session lost on {method}")
