"""Conversations per workspace, and one streamed round of chat (the server and the CLI share it).

DeepSeek's chat API is stateless: every request carries the conversation so far. A
`Conversation` keeps the finished rounds (question and answer; never `reasoning_content`,
which DeepSeek rejects when sent back) and, for the next request, as many of the newest
rounds as fit a token budget, estimated from characters (the tokenizer is too slow for this).

`stream_answer` streams one answer through `ApiBackend.chat_stream`, which resolves the chat
model and thinking mode (SPEC §1): `chatModel: auto` picks from `GET /models`; V4 models get
`"thinking": {"type": "disabled"}` unless reasoning is asked for (`chatReasoning`, or the
caller's choice), legacy names carry no flag (`deepseek-reasoner` reasons by name). It stops
with `RequestTimeoutError` when the answer stalls and closes the HTTP connection whenever it is
left early (cancellation included), so DeepSeek stops generating.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deepseek_lsp.api.errors import RequestTimeoutError
from deepseek_lsp.api.types import ChatDelta, Usage
from deepseek_lsp.chat.prompts import system_message, user_message
from deepseek_lsp.completion.tokens import CHARS_PER_TOKEN
from deepseek_lsp.config import Settings

if TYPE_CHECKING:
    from deepseek_lsp.api.backend import ApiBackend

#: Earlier rounds sent with a question, at most (the question itself is not counted).
HISTORY_TOKENS = 16_000
#: Overall limit of one chat answer, however steadily it streams.
CHAT_DEADLINE_S = 600.0
#: An answer that sends nothing for this many `timeoutMs` is given up (reasoning streams
#: count as progress; DeepSeek's keep-alive lines do not).
IDLE_TIMEOUTS = 4


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 4  # + the message's own framing


@dataclass(frozen=True)
class Round:
    question: str  # the user message as sent (with the code it was about)
    answer: str  # the answer's content only


def rounds_within(rounds: Sequence[Round], budget_tokens: int) -> list[Round]:
    """The newest rounds whose estimated size fits the budget (whole rounds only)."""
    kept: list[Round] = []
    used = 0
    for r in reversed(rounds):
        used += estimate_tokens(r.question) + estimate_tokens(r.answer)
        if used > budget_tokens:
            break
        kept.append(r)
    kept.reverse()
    return kept


@dataclass
class Conversation:
    """The rounds of one workspace's chat, oldest first."""

    budget_tokens: int = HISTORY_TOKENS
    rounds: list[Round] = field(default_factory=list)

    def messages(self, question: str) -> list[dict[str, Any]]:
        """The request for `question`: system, the newest rounds that fit, the question."""
        out = [system_message()]
        for r in rounds_within(self.rounds, self.budget_tokens):
            out += [user_message(r.question), {"role": "assistant", "content": r.answer}]
        out.append(user_message(question))
        return out

    def add(self, question: str, answer: str) -> None:
        self.rounds.append(Round(question, answer))
        # Rounds that can never be sent again are dropped, so memory stays bounded.
        self.rounds = rounds_within(self.rounds, self.budget_tokens * 2)

    def clear(self) -> None:
        self.rounds.clear()


class Sessions:
    """One `Conversation` per workspace folder (key: the folder's URI, "" for none)."""

    def __init__(self, budget_tokens: int = HISTORY_TOKENS) -> None:
        self._budget = budget_tokens
        self._by_key: dict[str, Conversation] = {}

    def get(self, key: str, *, new: bool = False) -> Conversation:
        """The conversation of `key`; `new` starts it afresh (`newSession`)."""
        if new or key not in self._by_key:
            self._by_key[key] = Conversation(self._budget)
        return self._by_key[key]


@dataclass(frozen=True)
class ChatAnswer:
    content: str
    reasoning_content: str | None
    usage: Usage
    model: str
    finish_reason: str | None

    @property
    def truncated(self) -> bool:
        """The answer hit `max_tokens` (or the context limit): its code may be cut off."""
        return self.finish_reason in ("length", "insufficient_system_resource")

    def to_json(self) -> dict[str, Any]:
        """The result of `deepseek.chat`: `{content, reasoningContent?, usage, model}`."""
        out: dict[str, Any] = {"content": self.content}
        if self.reasoning_content:
            out["reasoningContent"] = self.reasoning_content
        out["usage"] = self.usage.to_json()
        out["model"] = self.model
        return out


def wants_reasoning(settings: Settings, reasoning: bool | None) -> bool:
    return settings.chat_reasoning if reasoning is None else reasoning


async def stream_answer(
    backend: ApiBackend,
    settings: Settings,
    messages: Sequence[Mapping[str, Any]],
    *,
    reasoning: bool | None = None,
    on_delta: Callable[[ChatDelta], None] | None = None,
    deadline_s: float = CHAT_DEADLINE_S,
) -> ChatAnswer:
    """One streamed answer; raises `DeepSeekError`s (and `CancelledError` when cancelled)."""
    want = wants_reasoning(settings, reasoning)
    idle_s = IDLE_TIMEOUTS * settings.timeout_ms / 1000
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(loop.time() + idle_s) as idle:
            async with backend.chat_stream(messages, settings, reasoning=want,
                                           deadline_s=deadline_s) as stream:
                idle.reschedule(loop.time() + idle_s)
                async for delta in stream:
                    idle.reschedule(loop.time() + idle_s)
                    if on_delta is not None:
                        on_delta(delta)
                result = stream.result
    except TimeoutError:
        raise RequestTimeoutError(f"the answer stalled for {idle_s:g} s") from None
    return ChatAnswer(
        content=result.content,
        reasoning_content=result.reasoning_content,
        usage=result.usage,
        model=result.model,
        finish_reason=result.finish_reason,
    )
