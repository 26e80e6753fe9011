"""What to do after an API failure: pause completions, back off, and tell the user once.

Rules (SPEC §5):
- One message per kind of failure, not one per keystroke: a kind is announced again only
  after `repeat_after_s` or after a success in between.
- 401/402 and a missing key pause completions until the settings change or a long back-off
  passes; 429 pauses for `Retry-After` (at most `MAX_RETRY_AFTER_S`, five minutes, whatever
  the upstream says), or an exponential back-off; server errors, timeouts
  and connection failures back off exponentially from one second, capped; the first success
  clears everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from deepseek_lsp.api.errors import (
    MAX_RETRY_AFTER_S,
    AuthenticationError,
    DeepSeekError,
    InsufficientBalanceError,
    MissingKeyError,
    ModelNotFoundError,
)

#: How long a missing key / wrong key / empty balance pauses completions without a settings change.
LONG_PAUSE_S = 300.0
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0


@dataclass
class FailurePolicy:
    clock: Callable[[], float] = time.monotonic
    repeat_after_s: float = 60.0
    paused_until: float = 0.0
    last_error: DeepSeekError | None = None
    _consecutive: int = 0
    _announced: dict[str, float] = field(default_factory=dict)

    def paused(self) -> bool:
        return self.clock() < self.paused_until

    def pause_remaining_s(self) -> float:
        return max(0.0, self.paused_until - self.clock())

    def record_success(self) -> None:
        self._consecutive = 0
        self.paused_until = 0.0
        self._announced.clear()

    def record_failure(self, error: DeepSeekError) -> str | None:
        """Note a failure; return the message to show the user, or None if already shown."""
        now = self.clock()
        self.last_error = error
        self._consecutive += 1
        self.paused_until = max(self.paused_until, now + self._pause_for(error))
        last = self._announced.get(error.kind)
        if last is not None and now - last < self.repeat_after_s:
            return None
        self._announced[error.kind] = now
        return error.user_message

    def settings_changed(self) -> None:
        """New settings may fix a key or balance problem: try again at once."""
        self.paused_until = 0.0
        self._consecutive = 0
        self._announced.clear()

    def _pause_for(self, error: DeepSeekError) -> float:
        if isinstance(error, MissingKeyError | AuthenticationError | InsufficientBalanceError):
            return LONG_PAUSE_S
        if isinstance(error, ModelNotFoundError):
            return BACKOFF_MAX_S
        backoff = min(BACKOFF_START_S * 2 ** (self._consecutive - 1), BACKOFF_MAX_S)
        if error.retryable and error.retry_after is not None:  # 429, 5xx
            return min(max(error.retry_after, 0.0), MAX_RETRY_AFTER_S)
        if error.retryable:
            return backoff
        return 0.0  # invalid requests: the next keystroke builds a different request
