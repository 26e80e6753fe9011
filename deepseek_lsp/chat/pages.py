"""Answer pages: a chat answer as a Markdown file, for editors without a chat view of their
own (the server opens it with `window/showDocument`). Clients with one send the setting
`answerPages: false`, and no page is written."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from datetime import datetime
from pathlib import Path

from deepseek_lsp.chat.session import ChatAnswer

#: Pages kept; older ones are deleted when a new one is written.
ANSWER_FILES_KEPT = 50


def answers_dir() -> Path:
    """`$XDG_CACHE_HOME/deepseek-lsp/answers` (default `~/.cache/...`)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "deepseek-lsp" / "answers"


def answer_markdown(title: str, question: str, answer: ChatAnswer, where: str | None) -> str:
    """The answer as a Markdown page: what was asked, the reasoning folded away, the answer."""
    parts = [f"# {title}", ""]
    if where:
        parts += [f"*{where}* · {answer.model}", ""]
    if question:
        parts += ["> " + question.strip().replace("\n", "\n> "), ""]
    if answer.reasoning_content:
        parts += ["<details><summary>Reasoning</summary>", "", answer.reasoning_content.strip(),
                  "", "</details>", ""]
    if answer.lookups:
        parts += ["*" + "; ".join(answer.lookups) + "*", ""]
    parts += [answer.content.strip(), ""]
    if answer.cut_notice:
        notice = answer.cut_notice
        parts += [f"**{notice[:1].upper() + notice[1:]}.**", ""]
    return "\n".join(parts)


def write_answer(markdown: str, title: str, directory: Path | None = None) -> Path:
    """Write the page under the cache directory, keeping the newest files only."""
    directory = directory or answers_dir()
    directory.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "answer"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = directory / f"{stamp}-{slug}-{uuid.uuid4().hex[:6]}.md"
    path.write_text(markdown, encoding="utf-8")
    old = sorted(directory.glob("*.md"), key=lambda p: p.stat().st_mtime)[:-ANSWER_FILES_KEPT]
    for stale in old:
        with contextlib.suppress(OSError):
            stale.unlink()
    return path
