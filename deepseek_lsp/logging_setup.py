"""Logging to stderr or a file (stdout is the protocol): the API key scrubbed everywhere, and
no document or suggestion text above debug level.

- pygls logs `initialize` params (which may carry `apiKey`) at info level and whole messages at
  debug level: every record passes a filter (`RedactingFilter`) that replaces the configured key
  in every escaped form it may take (JSON, Python repr, both nested), anything shaped like a
  DeepSeek key, and the value of any `apiKey` field (a key logged before the server has read
  it), before it is written.
- pygls also logs every outgoing message at info level ("Sending data: …": documents' code in
  edits, suggestions, chat answers). Above debug level those records keep only what kind of
  message it was and its size (`ContentFilter`); at debug the traffic is logged whole, and
  docs/privacy.md says so.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_KEY_SHAPE = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
# A key in `initializationOptions` or in a `workspace/configuration` answer is logged by pygls
# before the server has read it, so it is not known yet and may not look like `sk-...` (a
# gateway's key): the value of any `apiKey`/`api_key` field goes too, as a whole string literal
# in JSON or repr syntax (escaped quotes and backslashes included), a list, or a bare word.
_KEY_FIELD = re.compile(
    r"""(?P<name>\\*["']?[\w.-]*api[_-]?key\\*["']?\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\[[^\]]*\]|[^\s,}\])]+)""",
    re.IGNORECASE,
)
#: Every escaped form of each known key, longest first (a form may contain a shorter one).
_known_forms: list[str] = []


def redact_key(key: str | None) -> None:
    """Remember a key so that it is scrubbed from every log record from now on."""
    if not key or len(key) < 4:
        return
    forms = {key, repr(key)[1:-1], repr(key.encode("utf-8"))[2:-1]}
    for form in list(forms):
        forms |= {json.dumps(form)[1:-1], json.dumps(form, ensure_ascii=False)[1:-1]}
    for form in list(forms):  # nested once more: JSON in repr, repr in JSON, JSON in JSON
        forms |= {repr(form)[1:-1], json.dumps(form)[1:-1]}
    _known_forms[:] = sorted(set(_known_forms) | {f for f in forms if len(f) >= 4},
                             key=len, reverse=True)


#: Values of an `apiKey` field that are not a key (`Settings.__repr__` shows `<set>`).
_NOT_A_KEY = frozenset({"None", "null", "<set>", "<hidden>", "***", ""})


def _hide_field(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[0] in "\"'" else ""
    if value.strip("\"'") in _NOT_A_KEY:
        return match.group(0)
    return f"{match.group('name')}{quote}***{quote}"


def scrub(text: str) -> str:
    for form in _known_forms:
        text = text.replace(form, "***")
    lowered = text.lower()
    if "apikey" in lowered or "api_key" in lowered or "api-key" in lowered:
        text = _KEY_FIELD.sub(_hide_field, text)
    return _KEY_SHAPE.sub("sk-***", text)


#: pygls's records that carry whole LSP messages, and the argument that holds the message.
_CONTENT_RECORDS = {
    "Sending data: %s": 0,
    "Client response for %s received: %s": 1,
    'Unknown message "%s"': 0,
}


def _summary(message: Any) -> str:
    """What kind of LSP message `message` (JSON text or an object) is, and its size."""
    size = len(message) if isinstance(message, str) else len(repr(message))
    kind = type(message).__name__
    if isinstance(message, str):
        try:
            body = json.loads(message)
        except ValueError:
            body = None
        if isinstance(body, dict):
            parts = [f"{k}={body[k]!r}" for k in ("method", "id") if isinstance(
                body.get(k), (str, int))]
            parts += [k for k in ("result", "error") if k in body]
            if "error" in body and isinstance(body["error"], dict):
                parts.append(f"code={body['error'].get('code')!r}")
            kind = " ".join(parts) or "message"
    return f"<{kind}, {size} characters>"


class ContentFilter(logging.Filter):
    """Above debug level, keep documents' and suggestions' text out of the log: pygls's records
    of whole messages say only what kind of message it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        where = _CONTENT_RECORDS.get(record.msg) if record.name.startswith("pygls") else None
        if where is not None and isinstance(record.args, tuple) and len(record.args) > where:
            args = list(record.args)
            args[where] = _summary(args[where])
            if record.msg.startswith("Client response"):
                args[0] = type(args[0]).__name__
            record.args = tuple(args)
        return True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
            record.msg = f"{record.msg}\n{scrub(formatted)}"
        return True


class ExpectedErrorFilter(logging.Filter):
    """pygls logs a traceback at ERROR for every error *response* (a failed chat because the
    API answered 429, a cancelled command): those are answers, not faults. Kept at debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.startswith("pygls"):
            from pygls.exceptions import JsonRpcException

            if isinstance(record.exc_info[1], JsonRpcException):
                return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def setup_logging(level: str = "warning", log_file: str | None = None) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.addFilter(ExpectedErrorFilter())
    if getattr(logging, level.upper(), logging.WARNING) > logging.DEBUG:
        handler.addFilter(ContentFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.WARNING))
