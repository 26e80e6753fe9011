"""Typed requests and results of the DeepSeek API, as plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: DeepSeek accepts at most this many stop strings (FIM and chat).
MAX_STOP_SEQUENCES = 16


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_cache_hit_tokens: int = 0
    prompt_cache_miss_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Usage:
        if not isinstance(data, dict):
            return cls()
        details = data.get("completion_tokens_details") or {}
        prompt = int(data.get("prompt_tokens") or 0)
        hit = int(data.get("prompt_cache_hit_tokens") or 0)
        miss = data.get("prompt_cache_miss_tokens")
        return cls(
            prompt_tokens=prompt,
            completion_tokens=int(data.get("completion_tokens") or 0),
            total_tokens=int(data.get("total_tokens") or 0),
            prompt_cache_hit_tokens=hit,
            prompt_cache_miss_tokens=int(miss) if miss is not None else max(prompt - hit, 0),
            reasoning_tokens=int(details.get("reasoning_tokens") or 0)
            if isinstance(details, dict) else 0,
        )

    def to_json(self) -> dict[str, int]:
        return {
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "totalTokens": self.total_tokens,
            "promptCacheHitTokens": self.prompt_cache_hit_tokens,
            "promptCacheMissTokens": self.prompt_cache_miss_tokens,
        }


@dataclass(frozen=True)
class FimParams:
    """What the context builder decides; the client adds the model and sends it.

    Frozen and hashable: it is the completion cache's key.
    """

    prompt: str
    suffix: str | None
    max_tokens: int = 128
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    top_p: float | None = None
    #: Ask for the answer's token log-probabilities (a confidence check); None: do not ask.
    logprobs: int | None = None


@dataclass(frozen=True)
class FimResult:
    text: str
    finish_reason: str | None
    usage: Usage
    model: str = ""
    #: DeepSeek's `logprobs` object as sent (streams: list fields concatenated), if requested.
    logprobs: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ChatResult:
    content: str
    reasoning_content: str | None
    finish_reason: str | None
    usage: Usage
    model: str = ""
    tool_calls: tuple[dict[str, Any], ...] = ()
    #: DeepSeek's `logprobs` object as sent (streams: list fields concatenated), if requested.
    logprobs: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ChatDelta:
    """One streamed piece of a chat answer."""

    content: str = ""
    reasoning_content: str = ""


@dataclass(frozen=True)
class Model:
    id: str
    owned_by: str = ""


@dataclass(frozen=True)
class BalanceInfo:
    currency: str
    total_balance: str
    granted_balance: str
    topped_up_balance: str


@dataclass(frozen=True)
class Balance:
    is_available: bool
    infos: tuple[BalanceInfo, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        if not self.infos:
            return "Balance: none reported" + ("" if self.is_available else " (not available)")
        parts = [
            f"{i.total_balance} {i.currency} (granted {i.granted_balance}, "
            f"topped up {i.topped_up_balance})"
            for i in self.infos
        ]
        state = "" if self.is_available else " — not available for API calls"
        return "Balance: " + "; ".join(parts) + state
