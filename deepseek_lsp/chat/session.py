"""Conversations per workspace, and streamed answers (the server and the CLI share them).

DeepSeek's chat API is stateless: every request carries the conversation so far. A
`Conversation` keeps the finished rounds (question and answer; never `reasoning_content`,
which DeepSeek rejects when sent back) and, for the next request, as many of the newest
rounds as fit a token budget, estimated from characters (the tokenizer is too slow for this).

Every request goes through `ApiBackend.chat_stream`, which resolves the chat model and
thinking mode (SPEC §1): `chatModel: auto` picks from `GET /models`; V4 models get
`"thinking": {"type": "disabled"}` unless reasoning is asked for (`chatReasoning`, or the
caller's choice), legacy names carry no flag (`deepseek-reasoner` reasons by name). Every
request carries `max_tokens` = `chatMaxTokens`. A request stops with `RequestTimeoutError`
when the answer stalls and closes the HTTP connection whenever it is left early
(cancellation included), so DeepSeek stops generating. Three ways to ask:

- `stream_answer`: an answer in Markdown; with a `Toolbox` the model may look things up
  first (at most `MAX_TOOL_ROUNDS` rounds of tool calls, then it must answer), each look-up
  reported through `on_lookup`; usage adds up over the rounds;
- `stream_edit`: the code of an edit only, through chat prefix completion (an assistant
  message that opens a code fence, and the fence as `stop`), or the plain Markdown answer
  where the base URL has no `/beta` chat route (remembered per base URL);
- `stream_json`: JSON output, asked once more when DeepSeek answers with empty content (its
  docs say JSON mode may).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deepseek_lsp.api.backend import chat_prefix_missing, fit_max_tokens
from deepseek_lsp.api.errors import DeepSeekError, RequestTimeoutError
from deepseek_lsp.api.types import ChatDelta, ChatResult, Usage
from deepseek_lsp.chat.prompts import code_fence, system_message, user_message
from deepseek_lsp.completion.tokens import CHARS_PER_TOKEN
from deepseek_lsp.config import Settings
from deepseek_lsp.languages import fence_tag

if TYPE_CHECKING:
    from deepseek_lsp.api.backend import ApiBackend
    from deepseek_lsp.chat.tools import Toolbox

log = logging.getLogger(__name__)

#: Earlier rounds sent with a question, at most (the question itself is not counted).
HISTORY_TOKENS = 16_000
#: Overall limit of one chat answer, however steadily it streams.
CHAT_DEADLINE_S = 600.0
#: An answer that sends nothing for this many `timeoutMs` is given up (reasoning streams
#: count as progress; DeepSeek's keep-alive lines do not).
IDLE_TIMEOUTS = 4
#: Rounds of tool calls one answer may take; the round after them must answer.
MAX_TOOL_ROUNDS = 3


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
    lookups: tuple[str, ...] = ()  # one line per tool call ("looked up `scale` in a.py")
    max_tokens: int | None = None  # the `max_tokens` asked for
    code_only: bool = False  # the content is code, not Markdown (prefix completion)

    @property
    def truncated(self) -> bool:
        """The answer hit `max_tokens` (or the context limit): its code may be cut off."""
        return self.finish_reason in ("length", "insufficient_system_resource")

    @property
    def cut_notice(self) -> str | None:
        """What to tell the user about an answer that did not end by itself."""
        if self.finish_reason == "length":
            limit = self.max_tokens or self.usage.completion_tokens
            return f"the answer was cut at {limit:,} tokens (the `chatMaxTokens` setting)"
        if self.truncated:
            return "the answer was cut short: DeepSeek ran out of resources"
        return None

    def to_json(self) -> dict[str, Any]:
        """The result of `deepseek.chat`: `{content, reasoningContent?, usage, model,
        finishReason, lookups?, cutAtTokens?, notice?}`."""
        out: dict[str, Any] = {"content": self.content}
        if self.reasoning_content:
            out["reasoningContent"] = self.reasoning_content
        out["usage"] = self.usage.to_json()
        out["model"] = self.model
        out["finishReason"] = self.finish_reason
        if self.lookups:
            out["lookups"] = list(self.lookups)
        if self.finish_reason == "length":
            out["cutAtTokens"] = self.max_tokens or self.usage.completion_tokens
        if self.cut_notice:
            out["notice"] = self.cut_notice[:1].upper() + self.cut_notice[1:] + "."
        return out


def wants_reasoning(settings: Settings, reasoning: bool | None) -> bool:
    return settings.chat_reasoning if reasoning is None else reasoning


def add_usage(a: Usage, b: Usage) -> Usage:
    """The usage of two requests together (the rounds of one answer)."""
    return Usage(**{f.name: getattr(a, f.name) + getattr(b, f.name)
                    for f in dataclasses.fields(Usage)})


async def stream_round(
    backend: ApiBackend,
    settings: Settings,
    messages: Sequence[Mapping[str, Any]],
    *,
    reasoning: bool,
    on_delta: Callable[[ChatDelta], None] | None,
    deadline: float,
    **options: Any,
) -> ChatResult:
    """One streamed request, read to its end; `deadline` is on the loop's clock."""
    idle_s = IDLE_TIMEOUTS * settings.timeout_ms / 1000
    loop = asyncio.get_running_loop()
    remaining = deadline - loop.time()
    if remaining <= 0:
        raise RequestTimeoutError("the answer took longer than the chat limit")
    try:
        async with asyncio.timeout_at(loop.time() + idle_s) as idle:
            async with backend.chat_stream(messages, settings, reasoning=reasoning,
                                           deadline_s=remaining,
                                           max_tokens=settings.chat_max_tokens,
                                           **options) as stream:
                idle.reschedule(loop.time() + idle_s)
                async for delta in stream:
                    idle.reschedule(loop.time() + idle_s)
                    if on_delta is not None:
                        on_delta(delta)
                return stream.result
    except TimeoutError:
        raise RequestTimeoutError(f"the answer stalled for {idle_s:g} s") from None


def _tool_turn(result: ChatResult) -> dict[str, Any]:
    """The assistant message that made tool calls, as it goes back to DeepSeek (the client
    keeps its reasoning only where thinking mode needs it back)."""
    message: dict[str, Any] = {"role": "assistant", "content": result.content,
                               "tool_calls": [dict(c) for c in result.tool_calls]}
    if result.reasoning_content is not None:
        message["reasoning_content"] = result.reasoning_content
    return message


async def stream_answer(
    backend: ApiBackend,
    settings: Settings,
    messages: Sequence[Mapping[str, Any]],
    *,
    reasoning: bool | None = None,
    on_delta: Callable[[ChatDelta], None] | None = None,
    on_lookup: Callable[[str], None] | None = None,
    tools: Toolbox | None = None,
    deadline_s: float = CHAT_DEADLINE_S,
    **options: Any,
) -> ChatAnswer:
    """One answer, streamed; with `tools`, after at most `MAX_TOOL_ROUNDS` rounds of look-ups.

    Raises `DeepSeekError`s (and `CancelledError` when cancelled, also during a look-up).
    """
    want = wants_reasoning(settings, reasoning)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    history = [dict(m) for m in messages]
    usage, lookups, thoughts = Usage(), [], []
    for round_no in range(MAX_TOOL_ROUNDS + 1):
        extra = dict(options)
        if tools is not None:
            extra["tools"] = tools.specs
            if round_no == MAX_TOOL_ROUNDS:
                extra["tool_choice"] = "none"  # the same tools (a cache-friendly prefix)
        result = await stream_round(backend, settings, history, reasoning=want,
                                    on_delta=on_delta, deadline=deadline, **extra)
        usage = add_usage(usage, result.usage)
        if result.reasoning_content:
            thoughts.append(result.reasoning_content)
        if tools is None or not result.tool_calls or round_no == MAX_TOOL_ROUNDS:
            break
        history.append(_tool_turn(result))
        for call in result.tool_calls:
            function = call.get("function") or {}
            outcome = await tools.call(str(function.get("name") or ""),
                                       str(function.get("arguments") or ""))
            lookups.append(outcome.summary)
            if on_lookup is not None:
                on_lookup(outcome.summary)
            history.append({"role": "tool", "tool_call_id": call.get("id", ""),
                            "content": outcome.content})
    return ChatAnswer(
        content=result.content,
        reasoning_content="\n\n".join(thoughts) or None,
        usage=usage,
        model=result.model,
        finish_reason=result.finish_reason,
        lookups=tuple(lookups),
        max_tokens=fit_max_tokens(result.model, settings.chat_max_tokens),
    )


async def stream_edit(
    backend: ApiBackend,
    settings: Settings,
    messages: Sequence[Mapping[str, Any]],
    *,
    language_id: str,
    original: str,
    reasoning: bool | None = None,
    on_delta: Callable[[ChatDelta], None] | None = None,
) -> ChatAnswer:
    """The answer to an edit request (`messages` ask for one fenced block).

    Through prefix completion the model continues an assistant message that opens the code
    fence and stops at its closing fence, so the answer is the code only (`code_only`): no
    prose to strip, no fence to find, fewer tokens to pay for. Where the base URL answers that
    it has no such route (404, or DeepSeek's 400 naming the prefix or `/beta`), the same
    messages are asked the plain way and the backend remembers not to try again there.
    """
    if backend.chat_prefix_usable(settings):
        fence = code_fence(original)
        opening = {"role": "assistant", "content": f"{fence}{fence_tag(language_id)}\n"}
        try:
            answer = await stream_answer(backend, settings, [*messages, opening],
                                         reasoning=reasoning, on_delta=on_delta,
                                         prefix_completion=True, stop=[fence])
        except DeepSeekError as error:
            if not chat_prefix_missing(error):
                raise
            log.info("chat prefix completion is not available at %s (%s); asking plainly "
                     "from now on", settings.base_url, error.status)
            backend.chat_prefix_is_missing(settings)
        else:
            return dataclasses.replace(answer, code_only=True)
    return await stream_answer(backend, settings, messages, reasoning=reasoning,
                               on_delta=on_delta)


async def stream_json(
    backend: ApiBackend,
    settings: Settings,
    messages: Sequence[Mapping[str, Any]],
    *,
    reasoning: bool | None = None,
    on_delta: Callable[[ChatDelta], None] | None = None,
) -> ChatAnswer:
    """A JSON-output answer (`messages` must say "json" and show the shape); asked a second
    time when the first comes back empty. Usage counts both requests."""
    answer = await stream_answer(backend, settings, messages, reasoning=reasoning,
                                 on_delta=on_delta, response_format="json_object")
    if answer.content.strip() or answer.truncated:
        return answer
    log.info("JSON output came back empty; asking once more")
    again = await stream_answer(backend, settings, messages, reasoning=reasoning,
                                on_delta=on_delta, response_format="json_object")
    return dataclasses.replace(again, usage=add_usage(answer.usage, again.usage))
