"""Request checks, in the order and with the statuses DeepSeek uses.

Bodies that are not JSON get 400; JSON of the wrong shape (missing or mistyped fields) gets 422
like DeepSeek's deserializer; values out of range, unknown models ("Model Not Exist"), a prefix
message outside `/beta`, JSON output without the word "json" in the prompt, `tool` messages that
answer no call (or calls left unanswered), and thinking-mode `reasoning_content` rules get 400,
with DeepSeek's messages where they are known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MODEL_NOT_EXIST = "Model Not Exist"
FIM_MAX_TOKENS = 4096
MAX_STOPS = 16
MAX_LOGPROBS = 20
_ROLES = ("system", "user", "assistant", "tool")


class ApiError(Exception):
    """A request DeepSeek would refuse: the HTTP status and the error message to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _deserialize_error(detail: str) -> ApiError:
    return ApiError(422, f"Failed to deserialize the JSON body into the target type: {detail}")


def _require_object(body: Any) -> dict[str, Any]:
    if body is None:
        raise ApiError(400, "Failed to parse the request body as JSON")
    if not isinstance(body, dict):
        raise _deserialize_error("invalid type: expected a JSON object")
    return body


def _number(body: dict[str, Any], key: str, low: float, high: float,
            low_open: bool = False) -> None:
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _deserialize_error(f"{key}: invalid type: expected a number")
    if value > high or value < low or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise ApiError(400, f"Invalid {key} value, the valid range of {key} is "
                            f"{bracket}{low:g}, {high:g}]")


def _max_tokens(body: dict[str, Any], limit: int) -> int | None:
    value = body.get("max_tokens")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _deserialize_error("max_tokens: invalid type: expected an integer")
    if not 1 <= value <= limit:
        raise ApiError(400, f"Invalid max_tokens value, the valid range of max_tokens is "
                            f"[1, {limit}]")
    return value


def _stops(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("stop")
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise _deserialize_error("stop: invalid type: expected a string or a list of strings")
    if len(value) > MAX_STOPS:
        raise ApiError(400, f"Invalid stop value, the stop list may hold at most {MAX_STOPS} "
                            f"strings")
    return tuple(s for s in value if s)


def _common(body: dict[str, Any]) -> None:
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1, low_open=True)
    _number(body, "presence_penalty", -2, 2)
    _number(body, "frequency_penalty", -2, 2)
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise _deserialize_error("stream_options: invalid type: expected an object")


def _model(body: dict[str, Any], models: tuple[str, ...]) -> str:
    model = body.get("model")
    if model is None:
        raise _deserialize_error("missing field `model`")
    if not isinstance(model, str):
        raise _deserialize_error("model: invalid type: expected a string")
    if model not in models:
        raise ApiError(400, MODEL_NOT_EXIST)
    return model


def _thinking(body: dict[str, Any]) -> str | None:
    """'enabled', 'disabled' or None (not given)."""
    value = body.get("thinking")
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("enabled", "disabled"):
        raise _deserialize_error("thinking: expected {\"type\": \"enabled\"|\"disabled\"}")
    return value["type"]


def include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


@dataclass
class FimRequest:
    model: str
    prompt: str
    suffix: str | None
    max_tokens: int | None
    stop: tuple[str, ...]
    echo: bool
    logprobs: int | None
    stream: bool
    include_usage: bool


def check_fim(body: Any, models: tuple[str, ...]) -> FimRequest:
    """Validate a `/beta/completions` body."""
    body = _require_object(body)
    model = _model(body, models)
    prompt = body.get("prompt")
    if prompt is None:
        raise _deserialize_error("missing field `prompt`")
    if not isinstance(prompt, str):
        raise _deserialize_error("prompt: invalid type: expected a string")
    suffix = body.get("suffix")
    if suffix is not None and not isinstance(suffix, str):
        raise _deserialize_error("suffix: invalid type: expected a string")
    if model == "deepseek-reasoner" or _thinking(body) == "enabled":
        raise ApiError(400, "FIM completion is only available in non-thinking mode; "
                            f"{model} with thinking cannot be used for /beta/completions")
    _common(body)
    logprobs = body.get("logprobs")
    if logprobs is False:
        logprobs = None
    if logprobs is not None:
        if isinstance(logprobs, bool) or not isinstance(logprobs, int):
            raise _deserialize_error("logprobs: invalid type: expected an integer")
        if not 0 <= logprobs <= MAX_LOGPROBS:
            raise ApiError(400, f"Invalid logprobs value, the valid range of logprobs is "
                                f"[0, {MAX_LOGPROBS}]")
    return FimRequest(
        model=model, prompt=prompt, suffix=suffix,
        max_tokens=_max_tokens(body, FIM_MAX_TOKENS), stop=_stops(body),
        echo=bool(body.get("echo")), logprobs=logprobs, stream=bool(body.get("stream")),
        include_usage=include_usage(body),
    )


#: DeepSeek's error messages for chat requests, word for word where known.
PREFIX_NOT_BETA = ('prefix is only available when using beta api '
                   '(set base_url="https://api.deepseek.com/beta")')
JSON_WORD_MISSING = ("Prompt must contain the word 'json' in some form to use "
                     "'response_format' of type 'json_object'.")
RESPONSE_FORMAT_UNAVAILABLE = "This response_format type is unavailable now"
TOOL_WITHOUT_CALL = ("Messages with role 'tool' must be a response to a preceding message "
                     "with 'tool_calls'")
CALL_WITHOUT_TOOL = ("An assistant message with 'tool_calls' must be followed by tool "
                     "messages responding to each 'tool_call_id'. (insufficient tool messages "
                     "following tool_calls message)")
REASONING_NOT_PASSED_BACK = ("The reasoning_content in the thinking mode must be passed back "
                             "to the API.")
REASONING_SENT_BACK = ("The reasoning_content of an earlier answer must not be sent back in "
                       "messages; remove it from the assistant messages")
MAX_TOOLS = 128
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    reasoning: bool
    max_tokens: int | None
    stop: tuple[str, ...]
    logprobs: bool
    top_logprobs: int
    stream: bool
    include_usage: bool
    prefix: str | None
    json_mode: bool = False
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None


def _chat_limit(model: str) -> int:
    return 8192 if model == "deepseek-chat" else 65536 if model == "deepseek-reasoner" else 393216


def json_mode_requested(body: Any) -> bool:
    """Whether a chat body asks for JSON output (`response_format: {"type": "json_object"}`)."""
    fmt = body.get("response_format") if isinstance(body, dict) else None
    return isinstance(fmt, dict) and fmt.get("type") == "json_object"


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whose content is a string or a list of text parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict)
                       and isinstance(p.get("text"), str))
    return ""


def _check_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The offered function tools, checked like DeepSeek's deserializer."""
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise _deserialize_error("tools: invalid type: expected a sequence")
    if len(tools) > MAX_TOOLS:
        raise ApiError(400, f"Invalid tools: at most {MAX_TOOLS} tools are supported")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise _deserialize_error(f"tools[{i}]: unknown variant, expected `function`")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise _deserialize_error(f"tools[{i}]: missing field `function`")
        name = function.get("name")
        if not isinstance(name, str):
            raise _deserialize_error(f"tools[{i}].function: missing field `name`")
        if not _TOOL_NAME.match(name):
            raise ApiError(400, f"Invalid tools[{i}].function.name: {name!r} must match "
                                "^[a-zA-Z0-9_-]{1,64}$")
        params = function.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise _deserialize_error(f"tools[{i}].function.parameters: expected an object")
    return tools


def _call_ids(i: int, message: dict[str, Any]) -> set[str]:
    """The ids of an assistant message's `tool_calls` (checked for shape)."""
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        raise _deserialize_error(f"messages[{i}].tool_calls: invalid type: expected a sequence")
    ids = set()
    for k, call in enumerate(calls):
        where = f"messages[{i}].tool_calls[{k}]"
        if not isinstance(call, dict):
            raise _deserialize_error(f"{where}: invalid type: expected an object")
        function = call.get("function")
        if not isinstance(call.get("id"), str):
            raise _deserialize_error(f"{where}: missing field `id`")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _deserialize_error(f"{where}: missing field `function`")
        if not isinstance(function.get("arguments", ""), str):
            raise _deserialize_error(f"{where}.function.arguments: expected a string")
        ids.add(call["id"])
    return ids


def _check_tool_turns(messages: list[dict[str, Any]]) -> None:
    """Every `tool` message answers a call of the assistant message just before it (or of the
    one before its sibling tool messages), and every call gets its answer."""
    pending: set[str] = set()
    open_block = False
    for i, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise _deserialize_error(f"messages[{i}]: missing field `tool_call_id`")
            if not open_block or call_id not in pending:
                raise ApiError(400, TOOL_WITHOUT_CALL)
            pending.discard(call_id)
            continue
        if pending:
            raise ApiError(400, CALL_WITHOUT_TOOL)
        open_block = False
        if role == "assistant" and message.get("tool_calls"):
            pending = _call_ids(i, message)
            open_block = True
    if pending:
        raise ApiError(400, CALL_WITHOUT_TOOL)


def _check_response_format(body: dict[str, Any], messages: list[dict[str, Any]]) -> bool:
    """Whether JSON output is asked for; 400 without the word "json" in a system or user
    message, or for a format DeepSeek does not offer (`json_schema`)."""
    fmt = body.get("response_format")
    if fmt is None:
        return False
    if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
        raise _deserialize_error("response_format: invalid type: expected an object with "
                                 "a `type`")
    kind = fmt["type"]
    if kind == "json_schema":
        raise ApiError(400, RESPONSE_FORMAT_UNAVAILABLE)
    if kind not in ("text", "json_object"):
        raise _deserialize_error("response_format: unknown variant, expected `text` or "
                                 "`json_object`")
    if kind == "text":
        return False
    said = " ".join(message_text(m) for m in messages if m.get("role") in ("system", "user"))
    if "json" not in said.lower():
        raise ApiError(400, JSON_WORD_MISSING)
    return True


def check_chat(body: Any, models: tuple[str, ...], generation: str, beta: bool) -> ChatRequest:
    """Validate a `/chat/completions` body; `beta` is True under the `/beta` path prefix.

    V4 models ignore a `reasoning_content` sent back, except that in thinking mode an assistant
    message with `tool_calls` must carry it (400 otherwise); the legacy generation refuses it
    anywhere, as `deepseek-reasoner` did.
    """
    body = _require_object(body)
    model = _model(body, models)
    messages = body.get("messages")
    if messages is None:
        raise _deserialize_error("missing field `messages`")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise _deserialize_error("messages: invalid type: expected a sequence of objects")
    if not messages:
        raise ApiError(400, "Invalid messages: the messages list must not be empty")
    thinking = _thinking(body)
    # V4 chat thinks unless told not to; the legacy names fix the mode per model.
    v4 = generation == "v4"
    reasoning = thinking != "disabled" if v4 else model == "deepseek-reasoner"
    prefix = None
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in _ROLES:
            raise _deserialize_error(f"messages[{i}]: unknown variant `{role}`, expected one "
                                     "of `system`, `user`, `assistant`, `tool`")
        last = i == len(messages) - 1
        if message.get("prefix"):
            if role != "assistant" or not last:
                raise ApiError(400, "Invalid messages: only the last message may be an "
                                    "assistant prefix")
            if not beta:
                raise ApiError(400, PREFIX_NOT_BETA)
            content = message.get("content")
            prefix = content if isinstance(content, str) else ""
        elif message.get("reasoning_content") is not None and not v4:
            raise ApiError(400, REASONING_SENT_BACK)
        if (v4 and reasoning and role == "assistant" and message.get("tool_calls")
                and not isinstance(message.get("reasoning_content"), str)):
            raise ApiError(400, REASONING_NOT_PASSED_BACK)
    if reasoning and messages[-1].get("role") == "assistant" and prefix is None:
        raise ApiError(400, f"The last message of {model} must be a user message, or an "
                            "assistant message with prefix mode on (refer to "
                            "https://api-docs.deepseek.com/guides/chat_prefix_completion).")
    _check_tool_turns(messages)
    tools = _check_tools(body)
    _common(body)
    logprobs = body.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        raise _deserialize_error("logprobs: invalid type: expected a boolean")
    top = body.get("top_logprobs")
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int):
            raise _deserialize_error("top_logprobs: invalid type: expected an integer")
        if not 0 <= top <= MAX_LOGPROBS:
            raise ApiError(400, f"Invalid top_logprobs value, the valid range of top_logprobs "
                                f"is [0, {MAX_LOGPROBS}]")
        if not logprobs:
            raise ApiError(400, "top_logprobs requires logprobs to be true")
    json_mode = _check_response_format(body, messages)
    return ChatRequest(
        model=model, messages=messages, reasoning=reasoning,
        max_tokens=_max_tokens(body, _chat_limit(model)), stop=_stops(body),
        logprobs=bool(logprobs), top_logprobs=top or 0, stream=bool(body.get("stream")),
        include_usage=include_usage(body), prefix=prefix, json_mode=json_mode, tools=tools,
        tool_choice=body.get("tool_choice"),
    )
