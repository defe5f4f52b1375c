"""Settings of the edge agent, and the priority rules that decide what goes to the hub first."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from plantwire.service.retry import RetryPolicy

HIGH, NORMAL, LOW = 0, 1, 2
PRIORITY_NAMES = {HIGH: "high", NORMAL: "normal", LOW: "low"}
OUTBOX_FILE = "outbox.db"


@dataclass(frozen=True)
class PriorityRule:
    """Events whose type matches `pattern` (fnmatch, e.g. "quality.*") get `priority`."""

    pattern: str
    priority: int


DEFAULT_RULES = (
    PriorityRule("quality.*", HIGH),
    PriorityRule("production.goods.completed", LOW),
    PriorityRule("production.component.consumed", LOW),
)


def priority_of(event_type: str, rules: tuple[PriorityRule, ...] = DEFAULT_RULES) -> int:
    """The first matching rule's priority (0 is highest), NORMAL when none matches."""
    for rule in rules:
        if fnmatchcase(event_type, rule.pattern):
            return rule.priority
    return NORMAL


def parse_rule(text: str) -> PriorityRule:
    """A rule from "PATTERN=high|normal|low", as given on the command line."""
    pattern, _, level = text.partition("=")
    names = {v: k for k, v in PRIORITY_NAMES.items()}
    if not pattern or level not in names:
        raise ValueError(f"priority rule {text!r} must look like 'quality.*=high' (high, normal, low)")
    return PriorityRule(pattern, names[level])


# The link is retried forever: max_attempts only bounds the exponent, never gives up.
LINK_RETRY = RetryPolicy(max_attempts=1_000_000, initial_interval=0.2, backoff_coefficient=2.0,
                         max_interval=5.0, jitter=0.2)


@dataclass(frozen=True)
class EdgeSettings:
    """Everything the agent needs; the CLI builds one from its options."""

    hub_url: str
    data_dir: Path
    hub_key: str | None = None
    agent_id: str = field(default_factory=lambda: f"edge-{socket.gethostname()}"[:64])
    host: str = "127.0.0.1"
    port: int = 8090
    batch_size: int = 1000
    alarm_backlog: int = 50_000
    alarm_age: float = 900.0
    max_outbox_bytes: int | None = None
    min_free_bytes: int = 16 * 1024 * 1024
    max_body_bytes: int = 16 * 1024 * 1024
    max_batch: int = 5000
    retention: float = 86_400.0
    hub_timeout: float = 30.0
    tick: float = 1.0
    retry: RetryPolicy = LINK_RETRY
    rules: tuple[PriorityRule, ...] = field(default=DEFAULT_RULES)

    @property
    def outbox_path(self) -> Path:
        """The SQLite file of the outbox."""
        return self.data_dir / OUTBOX_FILE
