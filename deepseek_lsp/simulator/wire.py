"""DeepSeek's wire format: the JSON bodies and SSE chunks the simulator sends.

Shapes follow the official examples (see /work/shared/seeds): `chat.completion`,
`chat.completion.chunk`, `text_completion`, `usage` with `prompt_cache_hit_tokens` /
`prompt_cache_miss_tokens`, FIM `logprobs` with `text_offset`, and `{"error": {...}}` bodies.
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from typing import Any

SYSTEM_FINGERPRINT = "fp_5im0ff1ine_prod0426"

#: status -> (error type, error code, default message)
_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid_request_error",
          "Authentication Fails, Your api key is invalid"),
    402: ("unknown_error", "invalid_request_error", "Insufficient Balance"),
    422: ("invalid_request_error", "invalid_request_error", "Invalid parameters"),
    429: ("rate_limit_error", "rate_limit_reached", "Rate Limit Reached"),
    500: ("api_error", "internal_server_error", "Internal Server Error"),
    503: ("api_error", "server_overloaded", "Server overloaded, please try again later"),
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """DeepSeek's error object for `status`, with a default message per status."""
    kind, code, default = _ERRORS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error",
                 "invalid_request_error", f"HTTP {status}"))
    return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}


def dumps(data: Any) -> str:
    """Compact JSON like DeepSeek's (no spaces), keeping non-ASCII text readable."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> int:
    return int(time.time())


def usage(prompt_tokens: int, hit_tokens: int, completion_tokens: int,
          reasoning_tokens: int | None = None) -> dict[str, Any]:
    """The `usage` object; `prompt_tokens = hit + miss` always holds."""
    data: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": hit_tokens},
        "prompt_cache_hit_tokens": hit_tokens,
        "prompt_cache_miss_tokens": prompt_tokens - hit_tokens,
    }
    if reasoning_tokens is not None:
        data["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return data


# --- log probabilities ---------------------------------------------------------------------------


def _logprob(token: str, position: int) -> float:
    """A deterministic, mostly confident log probability in (-0.5, 0]."""
    h = zlib.crc32(f"{position}:{token}".encode())
    return -round((h % 10_000) / 20_000, 6)


def _alternatives(token: str, count: int) -> list[str]:
    """`count` distinct candidate tokens, the chosen one first."""
    stem = token.strip()
    candidates = [token, stem, " " + stem, stem.upper(), stem.capitalize(), token + " ", "\n",
                  ",", ".", " the", "(", ")", ":", " =", "_", " a", " to", " of", ";", " in", "0"]
    seen: list[str] = []
    for c in candidates:
        if c and c not in seen:
            seen.append(c)
    return seen[:count]


def _top(token: str, position: int, count: int) -> list[tuple[str, float]]:
    first = _logprob(token, position)
    return [(alt, first if k == 0 else round(first - 1.5 * k - 0.25, 6))
            for k, alt in enumerate(_alternatives(token, count))]


def fim_logprobs(tokens: list[str], start_offset: int, top: int,
                 first_is_prompt: bool = False, position: int = 0) -> dict[str, Any]:
    """FIM `logprobs`: tokens, their logprobs, optional top alternatives and text offsets.

    Offsets count characters from the start of the prompt, as in the seed example (the first
    completion token of an 18-character prompt sits at offset 18). With `echo`, prompt tokens
    come first and the very first token has no logprob. `position` numbers the first token
    among the completion's tokens, so streamed chunks get the same values as a JSON answer.
    """
    offsets, logprobs, tops = [], [], []
    offset = start_offset
    for i, tok in enumerate(tokens, position):
        offsets.append(offset)
        offset += len(tok)
        logprobs.append(None if (first_is_prompt and i == position) else _logprob(tok, i))
        if top:
            tops.append(dict(_top(tok, i, top)))
    return {"tokens": tokens, "token_logprobs": logprobs,
            "top_logprobs": tops if top else None, "text_offset": offsets}


def chat_logprob_entries(tokens: list[str], top: int, start: int = 0) -> list[dict[str, Any]]:
    """Chat `logprobs.content` entries (OpenAI-style, as DeepSeek sends them)."""
    entries = []
    for i, tok in enumerate(tokens, start):
        entries.append({
            "token": tok, "logprob": _logprob(tok, i), "bytes": list(tok.encode()),
            "top_logprobs": [{"token": alt, "logprob": lp, "bytes": list(alt.encode())}
                             for alt, lp in _top(tok, i, top)] if top else [],
        })
    return entries


# --- bodies and chunks ----------------------------------------------------------------------------


def chat_completion(cid: str, model: str, message: dict[str, Any], finish_reason: str | None,
                    usage_obj: dict[str, Any], logprobs: Any = None,
                    empty: bool = False) -> dict[str, Any]:
    choices = [] if empty else [{"index": 0, "message": message, "logprobs": logprobs,
                                 "finish_reason": finish_reason}]
    return {"id": cid, "object": "chat.completion", "created": now(), "model": model,
            "choices": choices, "usage": usage_obj, "system_fingerprint": SYSTEM_FINGERPRINT}


def chat_chunk(cid: str, model: str, delta: dict[str, Any] | None,
               finish_reason: str | None = None, logprobs: Any = None,
               usage_obj: dict[str, Any] | None = None) -> dict[str, Any]:
    """One `chat.completion.chunk`; `delta=None` gives the `choices: []` usage chunk."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": logprobs,
                                         "finish_reason": finish_reason}]
    data: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": now(),
                            "model": model, "system_fingerprint": SYSTEM_FINGERPRINT,
                            "choices": choices}
    if usage_obj is not None:
        data["usage"] = usage_obj
    return data


def text_completion(cid: str, model: str, text: str, finish_reason: str | None,
                    usage_obj: dict[str, Any], logprobs: Any = None,
                    empty: bool = False) -> dict[str, Any]:
    choices = [] if empty else [{"text": text, "index": 0, "logprobs": logprobs,
                                 "finish_reason": finish_reason}]
    return {"id": cid, "object": "text_completion", "created": now(), "model": model,
            "choices": choices, "usage": usage_obj, "system_fingerprint": SYSTEM_FINGERPRINT}


def text_chunk(cid: str, model: str, text: str | None, finish_reason: str | None = None,
               logprobs: Any = None, usage_obj: dict[str, Any] | None = None) -> dict[str, Any]:
    """One streamed FIM chunk; `text=None` gives the `choices: []` usage chunk."""
    choices = [] if text is None else [{"text": text, "index": 0, "logprobs": logprobs,
                                        "finish_reason": finish_reason}]
    data: dict[str, Any] = {"id": cid, "object": "text_completion", "created": now(),
                            "model": model, "system_fingerprint": SYSTEM_FINGERPRINT,
                            "choices": choices}
    if usage_obj is not None:
        data["usage"] = usage_obj
    return data


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event line pair: `data: {...}\\n\\n`."""
    payload = data if isinstance(data, str) else dumps(data)
    return f"data: {payload}\n\n".encode()


SSE_DONE = b"data: [DONE]\n\n"
SSE_KEEPALIVE = b": keep-alive\n\n"
JSON_KEEPALIVE = b"\n"
