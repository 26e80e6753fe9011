"""`python -m benchmarks.edit_actions [--quick]`: what chat prefix completion saves on the edit
actions (refactor, document, fix), printed as the table of docs/performance.md.

Each action runs over the same selections — whole functions of this repository's own Python and
TypeScript source — twice against the simulator: the plain way (a Markdown answer: prose, one
fenced block, notes; the code is taken out of it), and through chat prefix completion (the
answer continues an open fence and stops at its end: the code only). For each it counts the
output tokens DeepSeek would bill (the simulator's `usage.completion_tokens`, from its
tokenizer) and the answers that would not be applied (`chat/extract.py:plan_edit` refuses:
no code found, placeholders, no change). It also checks that both ways give the same edit.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from deepseek_lsp.api.backend import ApiBackend
from deepseek_lsp.chat.actions import Diagnostic, action_messages
from deepseek_lsp.chat.extract import plan_edit
from deepseek_lsp.chat.prompts import excerpt_of
from deepseek_lsp.chat.session import stream_edit
from deepseek_lsp.config import Settings
from deepseek_lsp.simulator import SimulatorThread

ROOT = Path(__file__).resolve().parents[1]
PY_SOURCES = ("deepseek_lsp/completion/postprocess.py", "deepseek_lsp/chat/extract.py",
              "deepseek_lsp/documents.py", "deepseek_lsp/api/models.py")
TS_SOURCES = tuple(sorted(str(p.relative_to(ROOT))
                          for p in (ROOT / "editors" / "vscode" / "src").glob("*.ts")))
ACTIONS = ("refactor", "document", "fix")
_PY_DEF = re.compile(r"^def \w+\(.*$", re.MULTILINE)
_TS_DEF = re.compile(r"^(?:export )?(?:async )?function \w+.*\{$", re.MULTILINE)


@dataclass(frozen=True)
class Selection:
    path: str
    language_id: str
    text: str  # the whole file
    start: int
    end: int


def functions(path: str, per_file: int) -> list[Selection]:
    """Top-level functions of 5 to 40 lines, the first `per_file` of a file."""
    text = (ROOT / path).read_text(encoding="utf-8")
    python = path.endswith(".py")
    pattern, language = (_PY_DEF, "python") if python else (_TS_DEF, "typescript")
    out = []
    for m in pattern.finditer(text):
        start = m.start()
        if python:
            nxt = re.search(r"^\S", text[m.end():], re.MULTILINE)
            end = m.end() + (nxt.start() if nxt else len(text) - m.end())
        else:
            close = text.find("\n}\n", m.end())
            end = close + 3 if close >= 0 else len(text)
        body = text[start:end].rstrip("\n") + "\n"
        end = start + len(body)
        if 5 <= body.count("\n") <= 40:
            out.append(Selection(path, language, text, start, end))
        if len(out) == per_file:
            break
    return out


def with_a_mistake(sel: Selection) -> tuple[Selection, Diagnostic | None]:
    """For Fix: Python loses the colon of its first `if`, with the diagnostic a linter gives."""
    if sel.language_id != "python":
        return sel, None
    body = sel.text[sel.start:sel.end]
    m = re.search(r"^(\s*if [^\n#]*):$", body, re.MULTILINE)
    if m is None:
        return sel, None
    broken = body[:m.end(1)] + body[m.end():]
    text = sel.text[:sel.start] + broken + sel.text[sel.end:]
    line = text.count("\n", 0, sel.start + m.start(1)) + 1
    return (Selection(sel.path, sel.language_id, text, sel.start, sel.start + len(broken)),
            Diagnostic("expected ':'", line, "pyright"))


@dataclass
class Tally:
    tokens: list[int] = field(default_factory=list)
    not_applied: int = 0
    edits: list[object] = field(default_factory=list)


async def run_action(backend: ApiBackend, settings: Settings, action: str, sel: Selection,
                     prefix: bool) -> tuple[int, object]:
    """One edit action: (output tokens, the edit or why none)."""
    diagnostic = None
    if action == "fix":
        sel, diagnostic = with_a_mistake(sel)
    excerpt = excerpt_of(sel.text, sel.start, sel.end, path=sel.path,
                         language_id=sel.language_id)
    original = sel.text[sel.start:sel.end]
    messages = action_messages(action, excerpt, diagnostic)
    if not prefix:
        backend.chat_prefix_is_missing(settings)
    answer = await stream_edit(backend, settings, messages, language_id=sel.language_id,
                               original=original)
    assert answer.code_only is prefix
    lead = sel.text[sel.text.rfind("\n", 0, sel.start) + 1:sel.start]
    edit = plan_edit(answer.content, original=original, lead=lead,
                     language_id=sel.language_id, truncated=answer.truncated,
                     code_only=answer.code_only)
    return answer.usage.completion_tokens, edit


async def measure(per_file: int) -> dict[str, dict[str, Tally]]:
    selections = [s for path in (*PY_SOURCES, *TS_SOURCES) for s in functions(path, per_file)]
    results: dict[str, dict[str, Tally]] = {a: {"plain": Tally(), "prefix": Tally()}
                                            for a in ACTIONS}
    with SimulatorThread() as sim:
        settings = Settings(api_key="sk-benchmark-0123456789", base_url=sim.base_url)
        for mode in ("plain", "prefix"):
            backend = ApiBackend(lambda: settings)
            try:
                for action in ACTIONS:
                    for sel in selections:
                        tokens, edit = await run_action(backend, settings, action, sel,
                                                        prefix=mode == "prefix")
                        tally = results[action][mode]
                        tally.tokens.append(tokens)
                        tally.not_applied += isinstance(edit, str)
                        tally.edits.append(edit)
            finally:
                await backend.aclose()
    return results


def table(results: dict[str, dict[str, Tally]]) -> str:
    rows = [
        "| edit action | selections | output tokens, plain answer (mean) | output tokens, "
        "prefix completion (mean) | output tokens saved | not applied, plain | not applied, "
        "prefix | same edit both ways |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for action, modes in results.items():
        plain, prefix = modes["plain"], modes["prefix"]
        n = len(plain.tokens)
        saved = 1 - sum(prefix.tokens) / max(1, sum(plain.tokens))
        same = sum(a == b for a, b in zip(plain.edits, prefix.edits, strict=True))
        rows.append(
            f"| {action} | {n} | {statistics.mean(plain.tokens):.0f} | "
            f"{statistics.mean(prefix.tokens):.0f} | {saved:.0%} | {plain.not_applied} | "
            f"{prefix.not_applied} | {same}/{n} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.edit_actions")
    parser.add_argument("--quick", action="store_true", help="one function per file")
    args = parser.parse_args()
    results = asyncio.run(measure(per_file=1 if args.quick else 4))
    print("### Edit actions: plain answers and chat prefix completion\n")
    print(table(results))


if __name__ == "__main__":
    main()
