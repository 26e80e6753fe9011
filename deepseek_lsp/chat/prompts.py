"""Prompts for chat about code: what the model is told, in one place."""

from __future__ import annotations

from typing import Any

SYSTEM_PROMPT = (
    "You are DeepSeek, a programming assistant inside the user's editor. Answer precisely and "
    "briefly, in Markdown. When you show code, use fenced code blocks with the language."
)


def question_messages(
    question: str,
    *,
    path: str | None = None,
    language_id: str | None = None,
    code: str | None = None,
) -> list[dict[str, Any]]:
    """A free question, optionally about a piece of code from a file."""
    user = question
    if code is not None:
        fence = "````" if "```" in code else "```"
        where = f" from `{path}`" if path else ""
        user = f"{question}\n\nCode{where}:\n{fence}{language_id or ''}\n{code}\n{fence}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
