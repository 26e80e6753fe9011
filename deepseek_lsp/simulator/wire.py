"""DeepSeek's wire format: the JSON bodies and SSE chunks the simulator sends.

Shapes follow the official examples (see /work/shared/seeds): `chat.completion`,
`chat.completion.chunk`, `text_completion`, `usage` with `prompt_cache_hit_tokens` /
`prompt_cache_miss_tokens`, FIM `logprobs` with `text_offset`, and `{"error": {...}}` bodies.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from .confidence import top_alternatives

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


def fim_logprobs(tokens: list[str], start_offset: int, top: int,
                 values: list[float | None]) -> dict[str, Any]:
    """FIM `logprobs`: tokens, their logprobs, optional top alternatives and text offsets.

    Offsets count characters from the start of the prompt, as in the seed example (the first
    completion token of an 18-character prompt sits at offset 18). `values` holds each token's
    logprob (None for the very first echoed prompt token, which has none).
    """
    offsets, tops = [], []
    offset = start_offset
    for tok, value in zip(tokens, values, strict=True):
        offsets.append(offset)
        offset += len(tok)
        if top:
            tops.append(None if value is None else dict(top_alternatives(tok, value, top)))
    return {"tokens": tokens, "token_logprobs": values,
            "top_logprobs": tops if top else None, "text_offset": offsets}


def chat_logprob_entries(tokens: list[str], top: int, values: list[float]
                         ) -> list[dict[str, Any]]:
    """Chat `logprobs.content` entries (OpenAI-style, as DeepSeek sends them)."""
    entries = []
    for tok, value in zip(tokens, values, strict=True):
        entries.append({
            "token": tok, "logprob": value, "bytes": list(tok.encode()),
            "top_logprobs": [{"token": alt, "logprob": lp, "bytes": list(alt.encode())}
                             for alt, lp in top_alternatives(tok, value, top)[:top]],
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


def tool_call_deltas(call: dict[str, Any], split: Any) -> list[dict[str, Any]]:
    """The deltas that stream one tool call, as DeepSeek (and OpenAI) send them: its index, id,
    type and name with empty arguments first, then the arguments in pieces."""
    index = call["index"]
    head = {"index": index, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""}}
    deltas = [{"tool_calls": [head]}]
    for piece in split(call["function"]["arguments"]):
        deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    return deltas


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event line pair: `data: {...}\\n\\n`."""
    payload = data if isinstance(data, str) else dumps(data)
    return f"data: {payload}\n\n".encode()


SSE_DONE = b"data: [DONE]\n\n"
SSE_KEEPALIVE = b": keep-alive\n\n"
JSON_KEEPALIVE = b"\n"
