"""The simulator's deterministic chat "model".

Answers are markdown that mention what was asked. When the last user message holds a fenced
code block and asks to document, refactor/improve, test or fix it, the answer is prose plus
exactly one fenced block with that code edited plausibly, which is what the code actions apply.
It also writes a short "thinking" text, valid JSON in JSON mode, tool calls when asked to call a
tool, and continuations of an assistant prefix.
"""

from __future__ import annotations

import difflib
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from .fim_model import _DEF_ANY, _params, describe, guess_language, humanize, kind_of

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


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whose content is a string or a list of text parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def _intent(question: str) -> str:
    """What the user wants done with the code: fix, tests, document, refactor, explain or ask."""
    q = question.lower()
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


_PY_TEST_CASES = {
    "fibonacci": ("{name}(10)", "55"), "factorial": ("{name}(5)", "120"),
    "is_prime": ("{name}(7)", "True"), "add": ("{name}(2, 3)", "5"),
    "subtract": ("{name}(5, 3)", "2"), "multiply": ("{name}(4, 3)", "12"),
    "divide": ("{name}(6, 3)", "2"), "reverse": ('{name}("abc")', '"cba"'),
    "greet": ('{name}("Ada")', '"Hello, Ada!"'), "maximum": ("{name}([1, 3, 2])", "3"),
    "minimum": ("{name}([1, 3, 2])", "1"), "average": ("{name}([1, 2, 3])", "2"),
    "sort": ("{name}([3, 1, 2])", "[1, 2, 3]"),
}


def tests_for(code: str, lang: str, module: str | None = None) -> str:
    """Unit tests for the functions defined in `code` (importing them from `module`)."""
    functions = [(n, _params(p)) for n, p in _DEF_ANY.findall(code) if not n.startswith("_")]
    if not functions:
        functions = [("main", [])]
    blocks = []
    for name, params in functions:
        kind = kind_of(name)
        call, expected = _PY_TEST_CASES.get(kind or "", ("", ""))
        call = call.format(name=name) if call else f"{name}({', '.join('1' for _ in params)})"
        if lang in ("javascript", "typescript"):
            check = f"expect({call}).toBe({expected});" if expected else \
                f"expect({call}).toBeDefined();"
            blocks.append(f'test("{name} works", () => {{\n  {check}\n}});')
        elif lang == "go":
            go_name = name[:1].upper() + name[1:]
            blocks.append(f"func Test{go_name}(t *testing.T) {{\n\t_ = {call}\n}}")
        elif lang == "rust":
            blocks.append(f"#[test]\nfn test_{name}() {{\n    let _ = {call};\n}}")
        else:
            check = f"assert {call} == {expected}" if expected else \
                f"assert {call} is not None"
            blocks.append(f"def test_{name}():\n    {check}")
    names = ", ".join(n for n, _ in functions)
    if lang == "python":
        header = f"from {module} import {names}\n\n\n" if module else ""
        return header + "\n\n\n".join(blocks)
    if lang in ("javascript", "typescript"):
        header = 'import { test, expect } from "vitest";\n'
        if module:
            header += f'import {{ {names} }} from "./{module}";\n'
        return header + "\n" + "\n\n".join(blocks)
    return "\n\n".join(blocks)


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
        path = _PATH_RE.search(question)
        stem = re.sub(r"\W", "_", path.group(1).rsplit("/", 1)[-1].rsplit(".", 1)[0]) \
            if path else None
        edited = tests_for(code, lang, stem)
        prose = f"Here are unit tests for {subject}."
        if stem and lang == "python":
            closing = f"Put them in `tests/test_{stem}.py`."
        elif stem and lang in ("javascript", "typescript"):
            ext = "ts" if lang == "typescript" else "js"
            closing = f"Put them next to the module as `{stem}.test.{ext}`."
        else:
            closing = "Put them with the project's other tests."
        return f"{prose}\n\n```{fence}\n{edited.rstrip()}\n```\n\n{closing}"
    else:
        edited, prose = fix_code(code, lang, question), f"Here is {subject} with the problem fixed."
    # Keep the selection's trailing newline state, so the edit replaces it cleanly.
    body = edited.rstrip("\n")
    return (f"{prose}\n\n```{fence}\n{body}\n```\n\n"
            f"{_CHANGE_NOTES[intent]}")


def reasoning_for(question: str, round_no: int) -> str:
    """A short deterministic 'thinking' text."""
    return (f"The user asks: “{_quote(question, 60)}”. This is round {round_no} of the "
            f"conversation. I should look at what is asked, keep the answer short and "
            f"give one concrete example.")


def _json_answer(messages: list[dict[str, Any]], question: str) -> str:
    """Valid JSON, shaped like the example object in the prompt when there is one."""
    for message in messages:
        for candidate in re.findall(r"\{[^{}]*\}", message_text(message)):
            try:
                example = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(example, dict) and example:
                filled = {k: (question[:60] if isinstance(v, str) else v)
                          for k, v in example.items()}
                return json.dumps(filled, ensure_ascii=False)
    return json.dumps({"question": _quote(question), "answer": "42"}, ensure_ascii=False)


def _argument_value(name: str, schema: dict[str, Any], question: str) -> Any:
    kind = schema.get("type")
    if schema.get("enum"):
        return schema["enum"][0]
    if kind in ("integer", "number"):
        m = re.search(r"-?\d+(?:\.\d+)?", question)
        if m:
            return int(float(m.group())) if kind == "integer" else float(m.group())
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    m = re.search(r"\b(?:in|for|of|about|named)\s+([A-Z][\w-]*(?:\s+[A-Z][\w-]*)*)", question)
    if m:
        return m.group(1)
    words = re.findall(r"[A-Za-z]\w+", question)
    return words[-1] if words else name


def _tool_call(tools: list[dict[str, Any]], tool_choice: Any, question: str,
               call_no: int) -> dict[str, Any] | None:
    """A call of the tool the question names (or `tool_choice` forces), else None."""
    functions = [t.get("function", {}) for t in tools if isinstance(t, dict)]
    functions = [f for f in functions if isinstance(f, dict) and f.get("name")]
    if not functions or tool_choice == "none":
        return None
    chosen = None
    if isinstance(tool_choice, dict):
        wanted = tool_choice.get("function", {}).get("name")
        chosen = next((f for f in functions if f["name"] == wanted), None)
    q = question.lower()
    if chosen is None:
        for f in functions:
            words = " ".join(re.split(r"[_\W]+", f["name"].lower()))
            if f["name"].lower() in q or words in q:
                chosen = f
                break
    if chosen is None and (tool_choice == "required" or re.search(r"\b(call|use|invoke)\b.*"
                                                                   r"\b(tool|function)\b", q)):
        chosen = functions[0]
    if chosen is None:
        return None
    params = chosen.get("parameters") or {}
    props = params.get("properties") or {}
    required = params.get("required") or list(props)
    args = {k: _argument_value(k, props.get(k, {}), question) for k in required}
    return {"index": 0, "id": f"call_{call_no}_{zlib.crc32(chosen['name'].encode()):08x}",
            "type": "function",
            "function": {"name": chosen["name"], "arguments": json.dumps(args, ensure_ascii=False)}}


def continue_prefix(prefix: str, answer: str) -> str:
    """How the model continues an assistant message that begins with `prefix`."""
    if answer.startswith(prefix):
        return answer[len(prefix):]
    if prefix.count("```") % 2 == 1:
        m = _FENCE_RE.search(answer)
        code = m.group(3).rstrip("\n") if m else 'def main():\n    print("Hello, world!")'
        sep = "" if prefix.endswith("\n") else "\n"
        return f"{sep}{code}\n```"
    return ("" if prefix.endswith((" ", "\n")) else " ") + answer


def chat_answer(body: dict[str, Any], reasoning: bool) -> ChatAnswer:
    """The deterministic answer to a chat request body (already validated)."""
    messages: list[dict[str, Any]] = body.get("messages") or []
    question = last_user_text(messages)
    round_no = sum(1 for m in messages if m.get("role") == "user")
    thinking = reasoning_for(question, round_no) if reasoning else None
    last = messages[-1] if messages else {}

    if last.get("role") == "tool":
        content = message_text(last)
        return ChatAnswer(f"The tool returned: {content[:200]}\n\nSo the answer to "
                          f"“{_quote(question)}” is above.", thinking)

    call = _tool_call(body.get("tools") or [], body.get("tool_choice"), question,
                      sum(1 for m in messages if m.get("role") == "assistant"))
    if call is not None:
        return ChatAnswer("", thinking, [call])

    fmt = body.get("response_format") or {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return ChatAnswer(_json_answer(messages, question), thinking)

    fence = _FENCE_RE.search(question)
    intent = _intent(question)
    if fence and intent != "ask":
        content = _answer_about_code(intent, fence.group(2), fence.group(3), question)
    elif fence:
        names = [n for n, _ in _DEF_ANY.findall(fence.group(3))]
        subject = ", ".join(f"`{n}`" for n in names[:3]) or "the code you sent"
        content = (f"You asked: “{_quote(question)}”\n\nLooking at {subject}:\n\n"
                   f"- It does what its names say for ordinary inputs.\n"
                   f"- Check empty inputs and error paths; they are the likely problems.\n")
    else:
        topics = ", ".join(f"**{t}**" for t in _topics(question)) or "your question"
        content = (f"You asked: “{_quote(question)}”\n\n"
                   f"Here is a short answer (round {round_no}) about {topics}:\n\n"
                   f"- Start from the simplest case and check it works.\n"
                   f"- Then handle the general case step by step.\n")

    if last.get("role") == "assistant" and last.get("prefix"):
        content = continue_prefix(message_text(last), content)
    return ChatAnswer(content, thinking)
