"""The simulator's deterministic chat "model".

Answers are markdown that mention what was asked. When the last user message holds a fenced
code block and asks to document, refactor/improve, test or fix it (the task is read from the
words before the first code block), the answer is prose plus exactly one fenced block with that
code edited plausibly, then a few notes: what the code actions apply. It also writes a short
"thinking" text, valid JSON in JSON mode (`json_output`), tool calls and answers that use the
tools' results (`lookup`), and continuations of an assistant prefix: after an open code fence
(`{"role": "assistant", "content": "```python\n", "prefix": true}`) the continuation is the
code, the closing fence, then the notes, so that a `stop` of "```" leaves only the code.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from . import json_output, lookup, testfiles
from .fim_model import _DEF_ANY, _params, describe, guess_language, humanize
from .validation import message_text

# A fenced block: the fence (3+ backticks, closed by the same run), the info string, the code.
_FENCE_RE = re.compile(r"^[ \t]*(`{3,})([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$",
                       re.DOTALL | re.MULTILINE)
_PATH_RE = re.compile(r"from `([^`\n]+)`")
_PY_DEF_LINE = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+(\w+)\b.*:\s*$")
_C_DEF_LINE = re.compile(
    r"^(\s*)(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:pub\s+)?"
    r"(function|fn|func|class|const|interface)\s+(?:\([^)]*\)\s*)?(\w+)"
)
_FENCE_LANG = {"py": "python", "python": "python", "js": "javascript", "javascript": "javascript",
               "jsx": "javascript", "ts": "typescript", "typescript": "typescript",
               "tsx": "typescript", "go": "go", "golang": "go", "rust": "rust", "rs": "rust"}


@dataclass
class ChatAnswer:
    """What the model says: the content, optional reasoning, and tool calls instead of content."""

    content: str
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def _intent(question: str) -> str:
    """What the user wants done with the code: fix, tests, document, refactor, explain or ask.

    Only the words before the first code block count: the code itself may say anything.
    """
    q = lookup.task_text(question).lower()
    checks = (
        ("fix", r"\bfix|\bbug\b|\bdiagnostic|\berror\b|\bbroken\b"),
        ("tests", r"\btests?\b|\bunit test|\bpytest\b"),
        ("document", r"\bdocument|\bdocstring|\bcomment|\bjsdoc\b"),
        ("refactor", r"\brefactor|\bimprove|\bsimplif|\bclean ?up|\brewrite\b"),
        ("explain", r"\bexplain|\bwhat does\b|\bhow does\b"),
    )
    for name, pattern in checks:
        if re.search(pattern, q):
            return name
    return "ask"


def _fence_language(tag: str, code: str) -> str:
    return _FENCE_LANG.get(tag.lower()) or guess_language(code)


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _describe_line(name: str, line: str) -> str:
    """A doc sentence for the function or class `name` declared on `line`."""
    params = re.search(r"\((.*)\)", line)
    return describe(name, _params(params.group(1)) if params else [])


def document_code(code: str, lang: str) -> str:
    """The code with a docstring or doc comment on every function and class that lacks one."""
    lines = code.split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        if lang == "python":
            out.append(line)
            m = _PY_DEF_LINE.match(line)
            if not m:
                continue
            following = next((x for x in lines[i + 1:] if x.strip()), "")
            if following.strip().startswith(('"""', "'''")):
                continue
            body_indent = _indent_of(following)
            if len(body_indent) <= len(m.group(1)):
                body_indent = m.group(1) + "    "
            out.append(f'{body_indent}"""{_describe_line(m.group(3), line)}"""')
            continue
        m = _C_DEF_LINE.match(line)
        previous = out[-1].strip() if out else ""
        if m and not previous.startswith(("//", "/*", "*")):
            indent, text = m.group(1), _describe_line(m.group(3), line)
            if lang == "go":
                out.append(f"{indent}// {m.group(3)} {text[:1].lower()}{text[1:]}")
            elif lang == "rust":
                out.append(f"{indent}/// {text}")
            else:
                out.append(f"{indent}/** {text} */")
        out.append(line)
    if out == lines:
        mark = "#" if lang == "python" else "//"
        first = next((x.strip() for x in lines if x.strip()), "code")
        summary = re.sub(r"[^A-Za-z0-9_ ]", " ", first)[:40].strip() or "code"
        out.insert(0, f"{mark} {humanize(summary)}")
    return "\n".join(out)


def refactor_code(code: str, lang: str) -> str:
    """Small behaviour-preserving clean-ups a reviewer would suggest."""
    lines = [line.rstrip().replace("\t", "    ") for line in code.split("\n")]
    text = "\n".join(lines)
    if lang == "python":
        text = re.sub(r"\s*==\s*None\b", " is None", text)
        text = re.sub(r"\s*!=\s*None\b", " is not None", text)
        text = re.sub(r"\s*==\s*True\b", "", text)
    elif lang in ("javascript", "typescript"):
        text = re.sub(r"\bvar\s+", "let ", text)
        text = re.sub(r"(?<![=!])==(?!=)", "===", text)
        text = re.sub(r"!=(?!=)", "!==", text)
    if text == code:
        mark = "#" if lang == "python" else "//"
        indent = _indent_of(next((x for x in lines if x.strip()), ""))
        text = f"{indent}{mark} Refactored for readability; behaviour is unchanged.\n{text}"
    return text


_COMPOUND = re.compile(r"^\s*(def|class|if|elif|else|for|while|with|try|except|finally)\b")


def _add_missing_colon(line: str) -> str:
    """`if x > 1` -> `if x > 1:` when the statement is complete on its line."""
    stripped = line.rstrip()
    if not _COMPOUND.match(stripped) or stripped.endswith((":", "\\", ",")):
        return line
    depth = sum(stripped.count(c) for c in "([{") - sum(stripped.count(c) for c in ")]}")
    if depth != 0 or "#" in stripped or re.search(r":\s*\S", stripped.split("lambda")[0]):
        return line
    return stripped + ":"


def fix_code(code: str, lang: str, question: str) -> str:
    """The code with likely mistakes corrected: misspelled names, missing colons, `=` in tests."""
    text = code
    quoted = re.findall(r"[`'\"“]([A-Za-z_]\w*)[`'\"”]", question)
    # Names defined anywhere in the message (the context around the selection too).
    known = set(re.findall(r"\b[A-Za-z_]\w*\b", question)) | {"print", "len", "range"}
    known -= set(quoted)
    for name in quoted:
        candidates = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
        if candidates and re.search(rf"\b{re.escape(name)}\b", text):
            text = re.sub(rf"\b{re.escape(name)}\b", candidates[0], text)
    if lang == "python":
        text = "\n".join(_add_missing_colon(line) for line in text.split("\n"))
        text = re.sub(r"^(\s*)print ([^(\n].*)$", r"\1print(\2)", text, flags=re.MULTILINE)
        text = re.sub(r"^(\s*(?:if|elif|while)\s+[^=\n!<>]*[^=!<>])=([^=])", r"\1==\2", text,
                      flags=re.MULTILINE)
    elif lang in ("javascript", "typescript"):
        text = re.sub(r"\bif \(([^=()]*[^=!<>])=([^=])", r"if (\1===\2", text)
    if text == code:
        mark = "#" if lang == "python" else "//"
        lines = code.split("\n")
        indent = _indent_of(next((x for x in lines if x.strip()), ""))
        text = f"{indent}{mark} Fixed: checked the reported problem; see the note above.\n{code}"
    return text


def _quote(question: str, limit: int = 80) -> str:
    first = question.strip().split("\n", 1)[0].strip().strip("`")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _topics(text: str) -> list[str]:
    """The longest distinct words of a question, as a stable stand-in for 'key points'."""
    words = {w.lower() for w in re.findall(r"[A-Za-z_]\w{3,}", text)}
    return sorted(words, key=lambda w: (-len(w), w))[:3]


_CHANGE_NOTES = {
    "document": "- Added a docstring or doc comment where one was missing.\n"
                "- The code itself is unchanged.",
    "refactor": "- Tidied comparisons and whitespace.\n- Behaviour and public names are unchanged.",
    "fix": "- Corrected the reported problem.\n- The rest of the code is unchanged.",
}


def _answer_about_code(intent: str, tag: str, code: str, question: str) -> str:
    lang = _fence_language(tag, code)
    fence = tag or lang
    names = [n for n, _ in _DEF_ANY.findall(code)]
    subject = ", ".join(f"`{n}`" for n in names[:3]) or "the selected code"
    if intent == "explain":
        lines = len([x for x in code.split("\n") if x.strip()])
        recursive = any(f"{n}(" in code.split(n, 1)[-1] for n in names)
        flow = "recursion" if recursive else "straight-line code with early returns"
        return (f"**What it does.** {subject[:1].upper() + subject[1:]} ({lines} lines of "
                f"{lang}). It takes its inputs, computes a result step by step and returns it."
                f"\n\n- Control flow: {flow}.\n- Edge cases: check empty or very small inputs.\n")
    if intent == "document":
        edited, prose = document_code(code, lang), f"I added documentation to {subject}."
    elif intent == "refactor":
        edited, prose = refactor_code(code, lang), f"Here is a cleaner version of {subject}."
    elif intent == "tests":
        source = _PATH_RE.search(question)
        path, content = testfiles.test_file(code, lang, source.group(1) if source else None,
                                            question)
        return (f"Here are unit tests for {subject}.\n\n```{fence}\n{content.rstrip()}\n```"
                f"\n\nPut them in `{path}`.")
    else:
        edited, prose = fix_code(code, lang, question), f"Here is {subject} with the problem fixed."
    # Keep the selection's trailing newline state, so the edit replaces it cleanly.
    body = edited.rstrip("\n")
    return (f"{prose}\n\n```{fence}\n{body}\n```\n\n"
            f"{_CHANGE_NOTES[intent]}")


def reasoning_for(question: str, round_no: int, extra: str = "") -> str:
    """A short deterministic 'thinking' text."""
    return (f"The user asks: “{_quote(question, 60)}”. This is round {round_no} of the "
            f"conversation. I should look at what is asked, keep the answer short and "
            f"give one concrete example." + (f" {extra}" if extra else ""))


_FENCE_LINE = re.compile(r"^[ \t]*(`{3,})", re.MULTILINE)


def continue_prefix(prefix: str, answer: str) -> str:
    """How the model continues an assistant message that begins with `prefix`.

    After an open code fence the continuation is the answer's code (minus what the prefix
    already holds), the closing fence and whatever the answer says after its code block.
    """
    if answer.startswith(prefix):
        return answer[len(prefix):]
    fences = _FENCE_LINE.findall(prefix)
    if len(fences) % 2 == 1:
        opening = list(_FENCE_LINE.finditer(prefix))[-1]
        line_end = prefix.find("\n", opening.end())
        started = prefix[line_end + 1:] if line_end >= 0 else ""
        m = _FENCE_RE.search(answer)
        code = m.group(3).rstrip("\n") if m else 'def main():\n    print("Hello, world!")'
        tail = answer[m.end():] if m else ""
        if started and code.startswith(started):
            code = code[len(started):]
        sep = "" if line_end >= 0 else "\n"
        return f"{sep}{code}\n{fences[-1]}{tail}"
    return ("" if prefix.endswith((" ", "\n")) else " ") + answer


def _plain_answer(question: str, intent: str, round_no: int) -> str:
    fence = _FENCE_RE.search(question)
    if fence and intent != "ask":
        return _answer_about_code(intent, fence.group(2), fence.group(3), question)
    if fence:
        names = [n for n, _ in _DEF_ANY.findall(fence.group(3))]
        subject = ", ".join(f"`{n}`" for n in names[:3]) or "the code you sent"
        return (f"You asked: “{_quote(question)}”\n\nLooking at {subject}:\n\n"
                f"- It does what its names say for ordinary inputs.\n"
                f"- Check empty inputs and error paths; they are the likely problems.\n")
    topics = ", ".join(f"**{t}**" for t in _topics(question)) or "your question"
    return (f"You asked: “{_quote(question)}”\n\n"
            f"Here is a short answer (round {round_no}) about {topics}:\n\n"
            f"- Start from the simplest case and check it works.\n"
            f"- Then handle the general case step by step.\n")


def _edited(intent: str, code: str, lang: str, question: str) -> str | None:
    if intent == "document":
        return document_code(code, lang)
    if intent == "refactor":
        return refactor_code(code, lang)
    if intent == "fix":
        return fix_code(code, lang, question)
    return None


def chat_answer(body: dict[str, Any], reasoning: bool, json_mode: bool = False) -> ChatAnswer:
    """The deterministic answer to a chat request body (already validated)."""
    messages: list[dict[str, Any]] = body.get("messages") or []
    question = last_user_text(messages)
    round_no = sum(1 for m in messages if m.get("role") == "user")
    last = messages[-1] if messages else {}
    prefix = message_text(last) if last.get("role") == "assistant" and last.get("prefix") \
        else None
    fence = _FENCE_RE.search(question)
    source = _PATH_RE.search(question)
    lang = _fence_language(fence.group(2), fence.group(3)) if fence else ""
    selection = (fence.group(3), lang, source.group(1) if source else None) if fence else None

    if prefix is None:
        context = {k: source.group(1) for k in ("path", "file", "uri", "filename")} \
            if source else {}
        decision = lookup.decide(body, messages, question, context)
        if decision is not None:
            thinking = reasoning_for(question, round_no, decision.why) if reasoning else None
            return ChatAnswer("", thinking, [decision.call])

    results = lookup.tool_results(messages)
    extra = "I have what the tools returned." if results else ""
    thinking = reasoning_for(question, round_no, extra) if reasoning else None
    intent = _intent(question)
    if json_mode:
        def edit() -> str:
            return _edited(intent, fence.group(3), lang, question) or fence.group(3)

        content = json_output.answer(
            messages, question, intent, selection,
            edit if fence is not None and intent in ("document", "refactor", "fix") else None,
            message_text)
    else:
        content = _plain_answer(question, intent, round_no)
        if results:
            content = lookup.results_preamble(results, lang) + "\n\n" + content
    if prefix is not None:
        content = continue_prefix(prefix, content)
    return ChatAnswer(content, thinking)


