"""The simulator's mutable state: configuration, scripted rules, recorded requests, prefix cache.

Everything here is plain Python guarded by one lock, because the aiohttp handlers run on the
simulator's event-loop thread while tests script and inspect it from another thread.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .tokens import count_tokens

GENERATIONS: dict[str, tuple[str, ...]] = {
    "v4": ("deepseek-v4-flash", "deepseek-v4-pro"),
    "legacy": ("deepseek-chat", "deepseek-reasoner"),
}

DEFAULT_BALANCE: tuple[dict[str, str], ...] = (
    {"currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00",
     "topped_up_balance": "100.00"},
    {"currency": "USD", "total_balance": "15.00", "granted_balance": "0.00",
     "topped_up_balance": "15.00"},
)


@dataclass
class Rule:
    """One scripted behaviour; rules are tried in the order scripted and the first match wins.

    `times=None` keeps the rule forever; otherwise each use decrements it and it is removed at 0.
    Field meanings are documented in the package docstring (`deepseek_lsp.simulator`).
    """

    path: str | None = None
    match: str | None = None
    status: int = 200
    error_message: str | None = None
    retry_after: float | None = None
    body: str | None = None
    content_type: str | None = None
    text: str | None = None
    reasoning: str | None = None
    stall_s: float = 0.0
    keepalive_s: float | None = None
    drop_after_chunks: int | None = None
    truncate: bool = False
    empty_choices: bool = False
    ttft_s: float | None = None
    chunk_delay_s: float | None = None
    times: int | None = None
    confidence: float | None = None
    unsure_from: int = 0
    json_empty: bool = False
    tool_calls: list[dict[str, Any]] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        """Build a rule from a JSON object (`POST /_sim/rules`); unknown keys fail."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown Rule fields: {', '.join(sorted(unknown))}")
        return cls(**data)

    def __post_init__(self) -> None:
        if self.confidence is not None and not 0 < self.confidence <= 1:
            raise ValueError("confidence is a probability in (0, 1]")
        for call in self.tool_calls or []:
            if not isinstance(call, dict) or not isinstance(call.get("name"), str):
                raise ValueError('tool_calls items look like {"name": ..., "arguments": {...}}')

    def matches(self, path: str, haystack: str | None, json_mode: bool = False) -> bool:
        """Whether this rule applies to a request on `path` whose matchable text is `haystack`
        (`json_mode`: a chat request asking for JSON output; `json_empty` rules need one)."""
        if self.path is not None and self.path != path:
            return False
        if self.json_empty and not json_mode:
            return False
        if self.match is not None:
            return haystack is not None and self.match in haystack
        return True


class Headers(dict[str, str]):
    """A plain dict of request headers with lower-case keys and case-insensitive lookups."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass
class RecordedRequest:
    """What one client request looked like and how the simulator answered it.

    `status` is the HTTP status line actually sent (None when nothing was sent: the connection
    was dropped or the client left first). `disconnected` means the client went away before the
    response finished. Extras: `response_text`/`usage` (the completion text and usage sent) and
    `key_sha256` (SHA-256 hex of the bearer token, so tests can check which key was sent without
    the key ever being stored), `finish_reason` and `tool_calls` (what the model answered).
    """

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    raw: str
    status: int | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    disconnected: bool = False
    stream: bool = False
    response_text: str | None = None
    usage: dict[str, Any] | None = None
    key_sha256: str | None = None
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable form, for `GET /_sim/requests`."""
        data = dataclasses.asdict(self)
        data["headers"] = dict(self.headers)
        return data


def _common_prefix_len(a: str, b: str) -> int:
    """Length of the longest common prefix, by binary search over C-speed slice comparisons."""
    lo, hi = 0, min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class PrefixStore:
    """Recent prompts of one cache scope, kept sorted so the best match is found in O(log n).

    The longest common prefix of a string with any member of a set is reached at one of its two
    lexicographic neighbours, so two comparisons replace a scan of the whole store.
    """

    def __init__(self, max_prompts: int = 512, max_chars: int = 64 * 1024 * 1024) -> None:
        self.max_prompts = max_prompts
        self.max_chars = max_chars
        self._sorted: list[str] = []
        self._order: deque[str] = deque()
        self._chars = 0

    def longest_shared_prefix(self, prompt: str) -> int:
        """Characters of `prompt` shared with the most similar earlier prompt."""
        i = bisect.bisect_left(self._sorted, prompt)
        best = 0
        for j in (i - 1, i):
            if 0 <= j < len(self._sorted):
                best = max(best, _common_prefix_len(prompt, self._sorted[j]))
        return best

    def add(self, prompt: str) -> None:
        """Remember `prompt`, evicting the oldest prompts beyond the count and size bounds."""
        bisect.insort(self._sorted, prompt)
        self._order.append(prompt)
        self._chars += len(prompt)
        while self._order and (
            len(self._order) > self.max_prompts or self._chars > self.max_chars
        ):
            old = self._order.popleft()
            self._chars -= len(old)
            k = bisect.bisect_left(self._sorted, old)
            if k < len(self._sorted) and self._sorted[k] == old:
                del self._sorted[k]


@dataclass
class CacheResult:
    """How a prompt splits into cache hits and misses, in simulated tokens."""

    prompt_tokens: int
    hit_tokens: int

    @property
    def miss_tokens(self) -> int:
        return self.prompt_tokens - self.hit_tokens


@dataclass
class SimConfig:
    """Settings that `configure()` and `POST /_sim/config` may change at run time."""

    generation: str = "v4"
    api_key: str | None = None
    cache_unit: int = 64
    ttft_ms: float = 0.0
    tokens_per_s: float = 0.0
    #: Extra delay of the first request on each new connection (TCP and TLS set-up with a
    #: far server: about two round trips), so that a cold start costs what it costs.
    connect_ms: float = 0.0
    balance: list[dict[str, str]] = field(
        default_factory=lambda: [dict(b) for b in DEFAULT_BALANCE])
    max_records: int = 10_000

    @property
    def models(self) -> tuple[str, ...]:
        return GENERATIONS[self.generation]

    def validate(self) -> None:
        """Reject settings the simulator cannot honour, with a message naming the key."""
        if self.generation not in GENERATIONS:
            raise ValueError(f"generation must be one of {sorted(GENERATIONS)}")
        if self.cache_unit < 1:
            raise ValueError("cache_unit must be >= 1")
        if self.ttft_ms < 0 or self.tokens_per_s < 0 or self.connect_ms < 0:
            raise ValueError("ttft_ms, tokens_per_s and connect_ms must be >= 0")


CONFIG_KEYS = frozenset(f.name for f in dataclasses.fields(SimConfig))


class SimulatorState:
    """Configuration, rules, records and the prefix cache, shared by handlers and tests."""

    def __init__(self, **config: Any) -> None:
        self._lock = threading.Lock()
        self.config = SimConfig()
        self._rules: list[Rule] = []
        self._records: deque[RecordedRequest] = deque(maxlen=self.config.max_records)
        self._stores: dict[tuple[str, str], PrefixStore] = {}
        self._stats = {"prompt_tokens": 0, "hit_tokens": 0, "miss_tokens": 0, "requests": 0}
        self.closing = False
        if config:
            self.configure(**config)

    # -- configuration -------------------------------------------------------------------------

    def configure(self, **changes: Any) -> None:
        """Change settings; unknown keys raise `TypeError`, bad values `ValueError`."""
        unknown = set(changes) - CONFIG_KEYS
        if unknown:
            raise TypeError(f"unknown simulator settings: {', '.join(sorted(unknown))}")
        if changes.get("api_key") == "":
            changes["api_key"] = None  # an empty key means "accept any", as when unset
        with self._lock:
            new = dataclasses.replace(self.config, **changes)
            if "balance" in changes:
                new.balance = [dict(b) for b in changes["balance"]]
            new.validate()
            if new.max_records != self.config.max_records:
                self._records = deque(self._records, maxlen=new.max_records)
            self.config = new

    # -- rules -----------------------------------------------------------------------------------

    def add_rules(self, *rules: Rule) -> None:
        with self._lock:
            self._rules.extend(rules)

    def find_rule(self, path: str, haystack: str | None, json_mode: bool = False
                  ) -> Rule | None:
        """The first rule that matches, without using it up."""
        with self._lock:
            return next((r for r in self._rules if r.matches(path, haystack, json_mode)), None)

    def use_rule(self, rule: Rule) -> None:
        """Count one use of `rule`, removing it when its `times` runs out."""
        with self._lock:
            if rule.times is None:
                return
            rule.times -= 1
            if rule.times <= 0:
                for i, candidate in enumerate(self._rules):
                    if candidate is rule:
                        del self._rules[i]
                        break

    def take_rule(self, path: str, haystack: str | None) -> Rule | None:
        """The first matching rule, used once."""
        rule = self.find_rule(path, haystack)
        if rule is not None:
            self.use_rule(rule)
        return rule

    # -- records ---------------------------------------------------------------------------------

    def record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._records.append(req)

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        """Snapshots of the recorded requests (optionally of one path), in arrival order."""
        with self._lock:
            return [copy.copy(r) for r in self._records if path is None or r.path == path]

    # -- prefix cache ----------------------------------------------------------------------------

    def account_prompt(self, scope: tuple[str, str], cached_text: str, uncached_tokens: int = 0,
                       extra_tokens: int = 0) -> CacheResult:
        """Split a prompt into cache hits and misses and remember it for later requests.

        `cached_text` is what the prefix cache sees (FIM: the prompt; chat: the serialized
        messages); `uncached_tokens` are counted but always miss (the FIM suffix) and
        `extra_tokens` are template tokens that count as neither (none today).
        """
        with self._lock:
            unit = self.config.cache_unit
            store = self._stores.get(scope)
            if store is None:
                store = self._stores[scope] = PrefixStore()
            shared = store.longest_shared_prefix(cached_text)
            store.add(cached_text)
        # Tokenize outside the lock: the two halves add up to the whole prompt's count.
        head = count_tokens(cached_text[:shared])
        tail = count_tokens(cached_text[shared:]) if shared < len(cached_text) else 0
        hit = (head // unit) * unit
        total = head + tail + uncached_tokens + extra_tokens
        with self._lock:
            self._stats["prompt_tokens"] += total
            self._stats["hit_tokens"] += hit
            self._stats["miss_tokens"] += total - hit
            self._stats["requests"] += 1
        return CacheResult(prompt_tokens=total, hit_tokens=hit)

    def cache_stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def reset(self) -> None:
        """Forget rules, records, the prefix cache and its statistics (settings stay)."""
        with self._lock:
            self._rules.clear()
            self._records.clear()
            self._stores.clear()
            for key in self._stats:
                self._stats[key] = 0
