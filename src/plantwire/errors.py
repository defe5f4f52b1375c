"""The one error tree of plantwire.

Every error says whether trying again can help. The delivery loop decides from the class alone,
never from message text::

    PlantwireError
    ├── RetryableError                 transient; the same call may succeed later
    │   ├── StorageUnavailable         the journal or state store could not be reached or was busy
    │   └── TargetUnavailable          an outside system is down, slow or answered 5xx
    ├── PermanentError                 the same input fails the same way every time
    │   ├── InvalidEvent               an event or inbound document broke its contract (every issue
    │   │                              with its path: JSON path, segment/element, line, XPath; .where)
    │   ├── IdentityConflict           same source + id as a journaled event, different content
    │   ├── BusinessRuleViolation      valid event that the business rules refuse (e.g. short stock)
    │   └── RequestRejected            an HTTP request that cannot be read at all (size, media, JSON)
    ├── NotFound                       a named thing does not exist (event, dead letter, key)
    └── ConfigurationError             settings or wiring are wrong; fix and restart
        └── SchemaVersionError         a data file's schema is newer than this code, or needs
                                       `plantwire db upgrade`, or is not ours
"""

from __future__ import annotations

from dataclasses import dataclass


class PlantwireError(Exception):
    """Base of every error plantwire raises on purpose."""


class RetryableError(PlantwireError):
    """A transient failure: retry with backoff."""


class StorageUnavailable(RetryableError):
    """The journal or state store could not be written or read right now."""


class TargetUnavailable(RetryableError):
    """An outside system is down, timed out or answered with a server error."""


class PermanentError(PlantwireError):
    """The same input will fail the same way: do not retry, dead-letter it."""


@dataclass(frozen=True)
class Issue:
    """One problem found in an event: where (JSON path), which rule, and a sentence."""

    path: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON shape used by the API and the CLI."""
        return {"path": capped(self.path), "rule": capped(self.rule, 100), "message": capped(self.message)}


class InvalidEvent(PermanentError):
    """An event broke its contract; `issues` lists every problem found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        first = issues[0] if issues else Issue("$", "invalid", "invalid event")
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{first.path}: {first.message} [{first.rule}]{more}")

    @property
    def where(self) -> str:
        """Where the (first) problem is: a JSON path, segment/element, line or XPath of the input."""
        return self.issues[0].path if self.issues else "$"


class IdentityConflict(PermanentError):
    """An event reuses the source + id of a journaled event with different content."""

    def __init__(self, source: str, event_id: str, seq: int) -> None:
        self.source, self.event_id, self.seq = source, event_id, seq
        super().__init__(
            f"event source={source!r} id={event_id!r} is already journaled as #{seq} "
            "with different content; send a new id (e.g. a new revision) to change it"
        )


class BusinessRuleViolation(PermanentError):
    """A valid event that the business rules refuse, such as consuming stock that is not there."""


class RequestRejected(PermanentError):
    """An HTTP request that cannot be read: too large, wrong media type, broken JSON or UTF-8."""

    def __init__(self, status: int, rule: str, message: str, path: str = "$") -> None:
        self.status, self.rule, self.path = status, rule, path
        super().__init__(message)


class NotFound(PlantwireError):
    """A named thing (event, dead letter, API key, subscriber) does not exist."""


class ConfigurationError(PlantwireError):
    """Settings or wiring are wrong; the process cannot do its job until they are fixed."""


class SchemaVersionError(ConfigurationError):
    """A SQLite data file is at a schema version this code cannot run on (newer: upgrade plantwire;
    older: `plantwire db upgrade --data-dir D`), or is not a plantwire file at all."""


MAX_ECHO = 1000
"""The most characters of a message or path an answer repeats: a message may quote what the client
sent, and an error must not hand a megabyte back (or make the log hold it twice)."""


def capped(text: str, most: int = MAX_ECHO) -> str:
    """`text`, or its first `most` characters and how many more there were."""
    return text if len(text) <= most else f"{text[:most]}... ({len(text) - most} more characters)"
