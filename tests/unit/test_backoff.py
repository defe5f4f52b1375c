"""The retry policy value and the pure backoff function the delivery loop uses."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantwire.errors import (
    BusinessRuleViolation,
    IdentityConflict,
    InvalidEvent,
    StorageUnavailable,
    TargetUnavailable,
)
from plantwire.service.retry import RetryPolicy, backoff_delay

NO_JITTER = RetryPolicy(initial_interval=1.0, backoff_coefficient=2.0, max_interval=300.0,
                        jitter=0.0)


@pytest.mark.parametrize(("attempts", "expected"), [
    (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (8, 128.0), (9, 256.0), (10, 300.0), (50, 300.0),
    (10_000, 300.0),
])
def test_exponential_growth_capped_at_max_interval(attempts: int, expected: float) -> None:
    assert backoff_delay(NO_JITTER, attempts, 0.0) == expected


def test_other_coefficient_and_initial_interval() -> None:
    policy = RetryPolicy(initial_interval=0.5, backoff_coefficient=3.0, max_interval=20.0,
                         jitter=0.0)
    assert [backoff_delay(policy, n, 0.5) for n in range(1, 6)] == [0.5, 1.5, 4.5, 13.5, 20.0]


def test_coefficient_one_is_a_constant_interval() -> None:
    policy = RetryPolicy(initial_interval=7.0, backoff_coefficient=1.0, max_interval=7.0,
                         jitter=0.0)
    assert {backoff_delay(policy, n, 0.3) for n in range(1, 20)} == {7.0}


def test_jitter_bounds() -> None:
    policy = RetryPolicy(initial_interval=10.0, backoff_coefficient=2.0, max_interval=60.0,
                         jitter=0.25)
    assert backoff_delay(policy, 1, 0.0) == 10.0  # rand = 0: the full delay
    assert backoff_delay(policy, 1, 0.5) == 8.75
    almost_one = math.nextafter(1.0, 0.0)
    low = backoff_delay(policy, 1, almost_one)  # rand -> 1: down to (1 - jitter) of it
    assert 7.5 <= low < 7.5 + 1e-9
    assert backoff_delay(policy, 5, 0.0) == 60.0  # the cap comes before the jitter
    assert 45.0 <= backoff_delay(policy, 5, almost_one) < 45.0 + 1e-9


def test_full_jitter_can_reach_almost_zero() -> None:
    policy = RetryPolicy(initial_interval=4.0, max_interval=4.0, jitter=1.0)
    assert 0.0 <= backoff_delay(policy, 3, math.nextafter(1.0, 0.0)) < 1e-9


def test_zero_initial_interval_retries_at_once() -> None:
    policy = RetryPolicy(initial_interval=0.0, max_interval=0.0)
    assert backoff_delay(policy, 5, 0.7) == 0.0


def test_huge_coefficient_does_not_overflow() -> None:
    policy = RetryPolicy(initial_interval=1.0, backoff_coefficient=1e6, max_interval=3600.0,
                         jitter=0.0)
    assert backoff_delay(policy, 200, 0.0) == 3600.0


@pytest.mark.parametrize("attempts", [0, -1, -100])
def test_attempts_count_from_one(attempts: int) -> None:
    with pytest.raises(ValueError, match="attempts"):
        backoff_delay(NO_JITTER, attempts, 0.0)


@pytest.mark.parametrize("kwargs", [
    {"max_attempts": 0},
    {"max_attempts": -3},
    {"initial_interval": -1.0},
    {"initial_interval": 10.0, "max_interval": 5.0},
    {"backoff_coefficient": 0.5},
    {"jitter": -0.1},
    {"jitter": 1.5},
])
def test_policy_validation_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_edges_are_allowed() -> None:
    RetryPolicy(max_attempts=1, initial_interval=0.0, max_interval=0.0, backoff_coefficient=1.0,
                jitter=0.0)
    RetryPolicy(jitter=1.0, initial_interval=5.0, max_interval=5.0)


def test_gives_up_after_max_attempts_on_retryable_errors() -> None:
    policy = RetryPolicy(max_attempts=3)
    error = TargetUnavailable("ERP answered 503")
    assert [policy.gives_up(error, n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert policy.gives_up(StorageUnavailable("busy"), 2) is False
    assert policy.gives_up(ValueError("a bug"), 1) is False  # unknown errors are retried


def test_gives_up_at_once_on_permanent_errors() -> None:
    policy = RetryPolicy(max_attempts=10)
    assert policy.gives_up(BusinessRuleViolation("short stock"), 1) is True
    assert policy.gives_up(InvalidEvent([]), 1) is True
    assert policy.gives_up(IdentityConflict("erp", "x", 1), 1) is True


def test_max_attempts_one_means_never_retry() -> None:
    assert RetryPolicy(max_attempts=1).gives_up(TargetUnavailable("down"), 1) is True


def test_custom_non_retryable() -> None:
    policy = RetryPolicy(max_attempts=5, non_retryable=(KeyError,))
    assert policy.gives_up(KeyError("x"), 1) is True
    assert policy.gives_up(BusinessRuleViolation("not listed here"), 1) is False


policies = st.builds(
    lambda initial, extra, coefficient, jitter, max_attempts: RetryPolicy(
        max_attempts=max_attempts, initial_interval=initial, max_interval=initial + extra,
        backoff_coefficient=coefficient, jitter=jitter),
    initial=st.floats(0.0, 1e4, allow_nan=False),
    extra=st.floats(0.0, 1e5, allow_nan=False),
    coefficient=st.floats(1.0, 1e9, allow_nan=False),
    jitter=st.floats(0.0, 1.0),
    max_attempts=st.integers(1, 100),
)


@settings(derandomize=True, database=None, max_examples=300)
@given(policy=policies, attempts=st.integers(1, 10_000),
       rand=st.floats(0.0, 1.0, exclude_max=True))
def test_delay_stays_within_the_jitter_band_and_the_cap(
    policy: RetryPolicy, attempts: int, rand: float
) -> None:
    delay = backoff_delay(policy, attempts, rand)
    base = backoff_delay(policy, attempts, 0.0)
    assert base * (1 - policy.jitter) <= delay <= base <= policy.max_interval
    assert delay >= 0.0
    try:
        grown = policy.initial_interval * policy.backoff_coefficient ** (attempts - 1)
    except OverflowError:
        grown = math.inf
    if math.isfinite(grown):
        assert base == min(policy.max_interval, grown)
    else:
        assert base == (policy.max_interval if policy.initial_interval else 0.0)


@settings(derandomize=True, database=None)
@given(policy=policies, attempts=st.integers(1, 200))
def test_delay_without_jitter_never_shrinks(policy: RetryPolicy, attempts: int) -> None:
    assert backoff_delay(policy, attempts, 0.0) <= backoff_delay(policy, attempts + 1, 0.0)
