"""Retry policy as a value, and the pure backoff function the delivery loop uses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from plantwire.errors import PermanentError


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a subscriber's failures are retried.

    ``max_attempts`` counts the first try; 1 means never retry. Errors whose class is in
    ``non_retryable`` (or a subclass) go straight to the dead-letter store.
    """

    max_attempts: int = 8
    initial_interval: float = 1.0
    backoff_coefficient: float = 2.0
    max_interval: float = 300.0
    jitter: float = 0.2
    non_retryable: tuple[type[BaseException], ...] = field(default=(PermanentError,))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_interval < 0 or self.max_interval < self.initial_interval:
            raise ValueError("need 0 <= initial_interval <= max_interval")
        if self.backoff_coefficient < 1:
            raise ValueError("backoff_coefficient must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def gives_up(self, error: BaseException, attempts: int) -> bool:
        """True when this failure (after `attempts` tries) must be dead-lettered."""
        return isinstance(error, self.non_retryable) or attempts >= self.max_attempts


def backoff_delay(policy: RetryPolicy, attempts: int, rand: float) -> float:
    """Seconds to wait after the `attempts`-th failure; `rand` in [0, 1) supplies the jitter.

    Exponential: initial * coefficient ** (attempts - 1), capped at max_interval, then reduced by
    up to `jitter` of itself so that many keys failing together do not retry in lockstep.
    """
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    exponent = attempts - 1
    try:
        grown = policy.initial_interval * policy.backoff_coefficient**exponent
    except OverflowError:  # a huge coefficient: float ** raises instead of giving inf
        grown = math.inf if policy.initial_interval else 0.0
    base = min(policy.max_interval, grown)
    return base * (1 - policy.jitter * rand)
