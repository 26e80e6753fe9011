"""Logging to stderr or a file (stdout is the protocol), with the API key scrubbed everywhere.

pygls logs whole messages at debug level, `initialize` params (which may carry `apiKey`) at
info level: every record passes a filter that replaces the configured key, and anything
shaped like a DeepSeek key, before it is written.
"""

from __future__ import annotations

import logging
import re
import sys

_KEY_SHAPE = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
# A key in `initializationOptions` or in a `workspace/configuration` answer is logged by pygls
# before the server has read it, so it is not known yet and may not look like `sk-...`
# (a gateway's key): the value of any `apiKey` field goes too (repr and JSON quoting).
_KEY_FIELD = re.compile(r"""(["']api_?key["']\s*:\s*["'])[^"'\\]+""", re.IGNORECASE)
_known_keys: set[str] = set()


def redact_key(key: str | None) -> None:
    """Remember a key so that it is scrubbed from every log record from now on."""
    if key and len(key) >= 4:
        _known_keys.add(key)


def scrub(text: str) -> str:
    for key in _known_keys:
        text = text.replace(key, "***")
    text = _KEY_FIELD.sub(r"\1***", text)
    return _KEY_SHAPE.sub("sk-***", text)


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
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.WARNING))
