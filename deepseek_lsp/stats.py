"""Counters behind `deepseek.status`: what the server did, what it cost, what went wrong."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from deepseek_lsp.api.types import Usage
from deepseek_lsp.config import Prices


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    completion_requests: int = 0  # LSP inline/completion requests received
    upstream_requests: int = 0  # HTTP calls to /beta/completions
    cache_hits: int = 0
    typeahead_hits: int = 0
    flight_hits: int = 0  # answered by an upstream call started for an earlier keystroke
    shared_hits: int = 0  # answered by an identical request already in flight
    skipped: int = 0  # "don't ask" rules
    cancelled: int = 0
    early_stops: int = 0  # streams hung up on once the suggestion was complete
    early_answers: int = 0  # multi-line answers given at their first settled line
    prefetches: int = 0  # next-line calls after a suggestion was completed at a line end
    unsure_hidden: int = 0  # answers not shown: the model was unsure of their first tokens
    unsure_cut: int = 0  # multi-line answers cut where the model's confidence collapsed
    suggestions_shown: int = 0
    chat_requests: int = 0
    prompt_tokens: int = 0
    cache_hit_tokens: int = 0
    cache_miss_tokens: int = 0
    completion_tokens: int = 0
    upstream_ms: list[float] = field(default_factory=list)

    def add_usage(self, usage: Usage) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.cache_hit_tokens += usage.prompt_cache_hit_tokens
        self.cache_miss_tokens += usage.prompt_cache_miss_tokens
        self.completion_tokens += usage.completion_tokens

    def add_latency(self, ms: float) -> None:
        self.upstream_ms.append(ms)
        del self.upstream_ms[:-200]  # keep the recent ones only

    def cost(self, prices: Prices) -> float:
        return prices.cost(self.cache_hit_tokens, self.cache_miss_tokens, self.completion_tokens)

    def to_json(self, prices: Prices) -> dict[str, Any]:
        prompt = self.cache_hit_tokens + self.cache_miss_tokens
        recent = sorted(self.upstream_ms)
        return {
            "completionRequests": self.completion_requests,
            "upstreamRequests": self.upstream_requests,
            "cacheHits": self.cache_hits,
            "typeAheadHits": self.typeahead_hits,
            "inFlightHits": self.flight_hits,
            "sharedInFlight": self.shared_hits,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "earlyStops": self.early_stops,
            "earlyAnswers": self.early_answers,
            "nextLineRequests": self.prefetches,
            "unsureHidden": self.unsure_hidden,
            "unsureCut": self.unsure_cut,
            "suggestionsShown": self.suggestions_shown,
            "chatRequests": self.chat_requests,
            "promptTokens": self.prompt_tokens,
            "promptCacheHitTokens": self.cache_hit_tokens,
            "promptCacheMissTokens": self.cache_miss_tokens,
            "promptCacheHitShare": round(self.cache_hit_tokens / prompt, 4) if prompt else None,
            "completionTokens": self.completion_tokens,
            "estimatedCost": round(self.cost(prices), 6),
            "currency": prices.currency,
            "upstreamLatencyMsP50": round(recent[len(recent) // 2], 1) if recent else None,
        }
