"""Failure policy: one message per kind, pauses, back-off and recovery."""

from __future__ import annotations

from deepseek_lsp.api.errors import (
    MAX_RETRY_AFTER_S,
    AuthenticationError,
    InsufficientBalanceError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
)
from deepseek_lsp.failures import BACKOFF_MAX_S, LONG_PAUSE_S, FailurePolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_message_per_kind_per_minute():
    clock = Clock()
    policy = FailurePolicy(clock=clock)
    assert policy.record_failure(ServerError(status=500)) is not None
    for _ in range(20):
        clock.now += 1
        assert policy.record_failure(ServerError(status=500)) is None
    assert policy.record_failure(RequestTimeoutError()) is not None  # another kind
    clock.now += 61
    assert policy.record_failure(ServerError(status=500)) is not None


def test_auth_and_balance_pause_until_settings_change():
    clock = Clock()
    policy = FailurePolicy(clock=clock)
    policy.record_failure(AuthenticationError(status=401))
    assert policy.paused()
    clock.now += LONG_PAUSE_S - 1
    assert policy.paused()
    policy.settings_changed()
    assert not policy.paused()
    policy.record_failure(InsufficientBalanceError(status=402))
    clock.now += LONG_PAUSE_S + 1
    assert not policy.paused()  # the back-off passed: try again


def test_retry_after_and_exponential_backoff():
    clock = Clock()
    policy = FailurePolicy(clock=clock)
    policy.record_failure(RateLimitError(status=429, retry_after=7))
    assert 6.9 < policy.pause_remaining_s() <= 7
    policy.record_success()
    assert not policy.paused()
    pauses = []
    for _ in range(10):
        policy.record_failure(ServerError(status=500))
        pauses.append(policy.pause_remaining_s())
        clock.now += pauses[-1]
    assert pauses[0] == 1 and pauses[1] == 2 and pauses[2] == 4
    assert max(pauses) == BACKOFF_MAX_S


def test_success_allows_the_message_again():
    policy = FailurePolicy(clock=Clock())
    assert policy.record_failure(ServerError(status=503)) is not None
    policy.record_success()
    assert policy.record_failure(ServerError(status=503)) is not None


def test_a_retry_after_of_years_pauses_minutes_and_recovers_by_itself():
    clock = Clock()
    policy = FailurePolicy(clock=clock)
    for error in (RateLimitError(status=429, retry_after=99_999_999),
                  ServerError(status=503, retry_after=99_999_999)):
        assert policy.record_failure(error) is not None
        assert policy.pause_remaining_s() == MAX_RETRY_AFTER_S <= 300
        clock.now += MAX_RETRY_AFTER_S + 0.1
        assert not policy.paused()  # no settings change, no success needed
