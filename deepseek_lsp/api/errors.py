"""Every way a DeepSeek call can fail, as one small tree.

    DeepSeekError                    base; .status, .retryable, .retry_after, .user_message
    ├── MissingKeyError              no key configured (never sent)
    │   ├── InvalidKeyError          a key that cannot go into an HTTP header (never sent)
    │   └── InvalidBaseUrlError      a base URL the key must not go to (nothing is sent)
    ├── AuthenticationError          401: wrong key
    ├── InsufficientBalanceError     402: account out of balance
    ├── InvalidRequestError          400 / 422: the request itself is wrong
    │   └── ModelNotFoundError       400 "Model Not Exist": re-discover the model once
    ├── RateLimitError               429: too many requests; honours Retry-After
    ├── ServerError                  500 / other 5xx
    │   └── ServerBusyError          503: overloaded
    ├── RequestTimeoutError          the overall deadline passed (keep-alives do not extend it)
    ├── APIConnectionError           could not connect, or the connection dropped
    │   └── RedirectError            3xx: the base URL sends us elsewhere (never followed)
    └── MalformedResponseError       a body that is not DeepSeek's format; a stream cut short
        └── ResponseTooLargeError    a body, SSE line or answer past the client's bounds

`kind` names the family for "one message per kind of failure" and for `deepseek.status`.
Messages never contain the API key: the client removes its own key from every text it takes
from an upstream, and every error removes anything key-shaped from its detail as well.
"""

from __future__ import annotations

import re

#: The longest pause a `Retry-After` may impose. Five minutes is as long as completions pause
#: for anything (a wrong key or an empty balance, `failures.LONG_PAUSE_S`). DeepSeek documents
#: no `Retry-After`; a longer one comes from a misconfigured proxy rather than a real quota,
#: and if the limit is real the first request after the pause simply meets another 429.
MAX_RETRY_AFTER_S = 300.0
#: What a removed key is replaced with.
REDACTED = "sk-…(redacted)"
_KEY_SHAPED = re.compile(
    r"\bsk-[A-Za-z0-9][A-Za-z0-9_\-]{11,}"  # DeepSeek's (and OpenAI-style) keys
    # an echoed Authorization value (credentials have digits; "Bearer authentication" has not)
    r"|(?i:\b(?:bearer|basic)\s+)(?=[A-Za-z._~+/=\-]*\d)[A-Za-z0-9._~+/=\-]{8,}"
)


def redact_secrets(text: str, *secrets: str | None) -> str:
    """`text` without the given secrets and without anything shaped like an API key.

    Call it on the whole text *before* cutting it short, so no key can straddle the cut.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return _KEY_SHAPED.sub(_redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    found = match.group(0)
    if found.startswith("sk-"):
        return REDACTED
    scheme = found.split(None, 1)[0]
    return f"{scheme} …(redacted)"


class DeepSeekError(Exception):
    kind = "error"
    retryable = False
    default_message = "The DeepSeek API call failed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.detail = redact_secrets(detail) if detail else detail
        self.status = status
        self.retry_after = retry_after
        super().__init__(self.user_message)

    @property
    def user_message(self) -> str:
        msg = self.default_message
        if self.detail:
            msg = f"{msg} ({self.detail})"
        return msg


class MissingKeyError(DeepSeekError):
    kind = "missing_key"
    default_message = ("No DeepSeek API key: set DEEPSEEK_API_KEY in the environment the editor "
                       "starts from, or the `deepseek.apiKey` setting.")


class InvalidKeyError(MissingKeyError):
    """Same family as a missing key: the fix is the same setting."""

    default_message = ("The DeepSeek API key contains spaces or non-ASCII characters, so it "
                       "cannot be sent; check DEEPSEEK_API_KEY or `deepseek.apiKey`.")


class InvalidBaseUrlError(MissingKeyError):
    """Same family as a missing key: fixed in the settings, and nothing is sent meanwhile."""

    kind = "base_url"
    default_message = "DeepSeek: no request is sent until the base URL is fixed."

    @property
    def user_message(self) -> str:
        return f"DeepSeek: {self.detail}." if self.detail else self.default_message


class AuthenticationError(DeepSeekError):
    kind = "authentication"
    default_message = ("DeepSeek rejected the API key (401). Check DEEPSEEK_API_KEY or "
                       "`deepseek.apiKey`; create a key at platform.deepseek.com.")


class InsufficientBalanceError(DeepSeekError):
    kind = "balance"
    default_message = ("Your DeepSeek balance is used up (402). Top up at platform.deepseek.com; "
                       "completions pause until then.")


class InvalidRequestError(DeepSeekError):
    kind = "invalid_request"
    default_message = "DeepSeek rejected the request as invalid."


class ModelNotFoundError(InvalidRequestError):
    kind = "model_not_found"
    default_message = ("DeepSeek does not know the configured model. Set `deepseek.model` to "
                       "`auto` or to a name from `deepseek-lsp models`.")


class RateLimitError(DeepSeekError):
    kind = "rate_limit"
    retryable = True
    default_message = "DeepSeek is rate-limiting this key (429); slowing down."


class ServerError(DeepSeekError):
    kind = "server"
    retryable = True
    default_message = "DeepSeek had a server error; will retry shortly."


class ServerBusyError(ServerError):
    kind = "server_busy"
    default_message = "DeepSeek is overloaded (503); will retry shortly."


class RequestTimeoutError(DeepSeekError):
    kind = "timeout"
    retryable = True
    default_message = "DeepSeek did not answer in time."


class APIConnectionError(DeepSeekError):
    kind = "connection"
    retryable = True
    default_message = ("Could not reach the DeepSeek API. Check the network, proxy settings "
                       "and `deepseek.baseUrl`.")


class RedirectError(APIConnectionError):
    """A redirect is never followed: the `Authorization` header would go along to wherever
    it points (a captive portal, a proxy's login page, a moved base URL)."""

    kind = "redirect"
    default_message = ("The DeepSeek API address answered with a redirect, which is not "
                       "followed (the key would go along). Check `deepseek.baseUrl`, or log "
                       "in to the network first (Wi-Fi portal, proxy).")


class MalformedResponseError(DeepSeekError):
    kind = "malformed"
    retryable = True
    default_message = "DeepSeek sent a response that could not be read."


class ResponseTooLargeError(MalformedResponseError):
    """More than an honest answer of the requested size can be: the client stops reading
    (bounded memory, no blocked event loop) and says where it cut."""


def error_for_status(status: int, message: str | None, retry_after: float | None) -> DeepSeekError:
    """Map an HTTP error status and DeepSeek's error message to the tree above."""
    detail = message[:300] if message else None
    if status == 401:
        return AuthenticationError(detail, status=status)
    if status == 402:
        return InsufficientBalanceError(detail, status=status)
    if status in (400, 404, 422):
        if message and "model not exist" in message.lower():
            return ModelNotFoundError(detail, status=status)
        return InvalidRequestError(detail, status=status)
    if status == 429:
        return RateLimitError(detail, status=status, retry_after=retry_after)
    if status == 503:
        return ServerBusyError(detail, status=status, retry_after=retry_after)
    if status >= 500:
        return ServerError(detail, status=status, retry_after=retry_after)
    if 300 <= status < 400:
        return RedirectError(detail or f"HTTP {status}", status=status)
    return InvalidRequestError(detail or f"HTTP {status}", status=status)
