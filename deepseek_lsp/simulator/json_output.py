"""JSON output (`response_format: {"type": "json_object"}`) of the simulated chat model.

The answer is valid JSON shaped like the example object the prompt shows (outside its code
blocks), as DeepSeek's docs tell users to give one. A "write tests" request whose example has a
path and a content field, e.g. `{"path": "...", "content": "..."}`, gets the test file's path
(in the project's style when the prompt shows existing test paths) and the whole file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from . import testfiles

_FENCE_RE = re.compile(r"^[ \t]*(`{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)
_PATH_KEYS = ("path", "file", "filename", "file_path", "test_path", "test_file")
_CONTENT_KEYS = ("content", "contents", "code", "text", "source", "file_content")
_MAX_SCAN = 20_000


def _prose(text: str) -> str:
    """The text with its fenced code blocks left out."""
    return _FENCE_RE.sub(" ", text)


def json_example(texts: list[str]) -> dict[str, Any] | None:
    """The first JSON object shown outside code blocks in these texts."""
    decoder = json.JSONDecoder()
    for text in texts:
        prose = _prose(text)[:_MAX_SCAN]
        for m in re.finditer(r"\{", prose):
            try:
                value, _ = decoder.raw_decode(prose, m.start())
            except ValueError:
                continue
            if isinstance(value, dict) and value:
                return value
    return None


def _first_key(example: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((k for k in example if k.lower() in keys), None)


def _quote(question: str, limit: int = 80) -> str:
    first = question.strip().split("\n", 1)[0].strip().strip("`")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _fill(example: Any, key: str, question: str, code: str | None) -> Any:
    """A value shaped like `example` for `key`."""
    if isinstance(example, dict):
        return {k: _fill(v, k, question, code) for k, v in example.items()}
    if isinstance(example, list):
        return [_fill(example[0], key, question, code)] if example else []
    if isinstance(example, bool):
        return True
    if isinstance(example, int | float):
        return example if example else 1
    if example is None:
        return None
    low = key.lower()
    if low in _CONTENT_KEYS and code is not None:
        return code
    if low in ("question", "title", "query"):
        return _quote(question)
    if low in ("answer", "summary", "explanation", "description", "reason", "message"):
        return f"A short answer to “{_quote(question, 60)}”."
    return _quote(question, 60)


def answer(messages: list[dict[str, Any]], question: str, intent: str,
           selection: tuple[str, str, str | None] | None,
           edit: Callable[[], str] | None, message_text: Callable[[dict[str, Any]], str]
           ) -> str:
    """The JSON text of an answer.

    `selection` is (code, language, source path) of the code the question is about, `edit`
    the edited code for an edit request.
    """
    texts = [message_text(m) for m in messages if m.get("role") in ("system", "user")]
    example = json_example(texts) or {"question": "", "answer": ""}
    path_key = _first_key(example, _PATH_KEYS)
    content_key = _first_key(example, _CONTENT_KEYS)
    if intent == "tests" and selection is not None and path_key and content_key:
        code, lang, source = selection
        data = dict(_fill(example, "", question, None))
        shown = example.get(path_key)
        data[path_key], data[content_key] = testfiles.test_file(
            code, lang, source, "\n".join(texts),
            ignore=(shown,) if isinstance(shown, str) else ())
        return json.dumps(data, ensure_ascii=False, indent=2)
    code = edit() if edit is not None else (selection[0] if selection else None)
    return json.dumps(_fill(example, "", question, code), ensure_ascii=False, indent=2)
