"""When the simulated chat model calls a tool, and how it uses what the tool returned.

Like DeepSeek with OpenAI-style function tools: if the request offers a tool that finds a
definition (a name or description about definitions, symbols or look-ups, with a string
parameter such as `name`) and the question is about a symbol that the code shown does not
define, the first answer is a call `find_definition({"name": "<symbol>"})` instead of text.
Symbols come from the question first (backticked names, `name()`, identifiers the code uses),
then from the selected code (functions it calls but nothing shown defines). A tool the user
names ("call get_weather for Paris"), or one forced by `tool_choice`, is called too.

Each symbol is looked up once per user turn, at most `MAX_LOOKUPS` rounds; a result that says
"not found" ends the look-ups. Then the answer is prose that quotes what the tools returned.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import keyword
import re
from dataclasses import dataclass
from typing import Any

from .fim_model import _params
from .validation import message_text

#: Look-up rounds per user turn before the model answers with what it has.
MAX_LOOKUPS = 3

_FENCE_RE = re.compile(r"^[ \t]*(`{3,})[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)
_NOT_FOUND = re.compile(r"\bnot found\b|\bno definition\b|\bcould not find\b|\bcannot find\b"
                        r"|\bnot defined\b|\bunknown symbol\b|\bno results?\b", re.IGNORECASE)
_PATH_RE = re.compile(r"[\w./-]+\.(?:py|pyi|js|jsx|mjs|ts|tsx|go|rs|java|c|h|cc|cpp|rb|lua)\b")
_LOOKUP_WORDS = re.compile(r"defin|symbol|lookup|look_up|look up|find|locate|declaration",
                           re.IGNORECASE)
_SYMBOL_PARAMS = ("name", "symbol", "identifier", "query", "word")

_DEFINES = (
    re.compile(r"\b(?:def|class|function\*?|func|fn|struct|enum|trait|type|interface|const|let"
               r"|var|static|mod|impl)\s+(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)"),
    re.compile(r"^[ \t]*([A-Za-z_][\w]*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*)[ \t]*(?::[^=\n]*)?"
               r"(?::=|=(?!=))", re.MULTILINE),
    re.compile(r"\bfor\s+\(?\s*(?:const|let|var)?\s*([\w, ]+?)\s+(?:in|of)\b"),
    re.compile(r"\bas\s+([A-Za-z_]\w*)"),
)  # an import names a symbol but does not define it: the model still looks it up
_SIGNATURE = re.compile(r"\b(?:def|function|func|fn)\s*\w*\s*\(([^)]*)\)|\blambda\s+([^:]*):"
                        r"|\(([^()]*)\)\s*=>|\b([A-Za-z_]\w*)\s*=>")
_CALL = re.compile(r"(?<![\w.$])(?:new\s+)?([A-Za-z_$][\w$]*)\s*\(")
_BACKTICKED = re.compile(r"`([A-Za-z_$][\w$.]*)(?:\(\))?`")
_CALLED_IN_TEXT = re.compile(r"\b([A-Za-z_]\w*)\(\)")
_WORD = re.compile(r"\b[A-Za-z_]\w*\b")

_OTHER_LANGUAGES_BUILTINS = (
    "self cls this super console Math JSON Object Array String Number Boolean Promise Error "
    "Date Map Set RegExp Symbol parseInt parseFloat require setTimeout setInterval fetch "
    "document window process module exports undefined null true false async await function "
    "return typeof instanceof new delete void yield catch throw finally switch case default "
    "make append cap panic recover println printf fmt len copy close go defer chan select "
    "Some None Ok Err Vec Box Option Result format vec assert assert_eq "
    "if else elif while for in of do try except with import from as pass lambda not and or"
)
_KNOWN = (frozenset(keyword.kwlist) | frozenset(dir(builtins))
          | frozenset(_OTHER_LANGUAGES_BUILTINS.split(" ")))


@dataclass(frozen=True)
class ToolResult:
    """One earlier call of this turn and what the tool returned."""

    name: str
    arguments: dict[str, Any]
    content: str

    @property
    def symbol(self) -> str | None:
        for key in _SYMBOL_PARAMS:
            value = self.arguments.get(key)
            if isinstance(value, str):
                return value
        return None

    @property
    def found(self) -> bool:
        return bool(self.content.strip()) and not _NOT_FOUND.search(self.content[:300])


def task_text(question: str) -> str:
    """The words of a question before its first code block (the prompt's task)."""
    m = _FENCE_RE.search(question)
    return question[: m.start()] if m else question


def current_turn(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages after the last user message."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return messages[i + 1:]
    return list(messages)


def tool_results(messages: list[dict[str, Any]]) -> list[ToolResult]:
    """The calls made in this turn with their results, in order."""
    turn = current_turn(messages)
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    out = []
    for message in turn:
        if message.get("role") == "assistant":
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                try:
                    args = json.loads(function.get("arguments") or "{}")
                except ValueError:
                    args = {}
                calls[call.get("id", "")] = (function.get("name", ""),
                                             args if isinstance(args, dict) else {})
        elif message.get("role") == "tool":
            name, args = calls.get(message.get("tool_call_id", ""), ("", {}))
            out.append(ToolResult(name, args, message_text(message)))
    return out


def _functions(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    functions = [t.get("function") for t in tools if isinstance(t, dict)]
    return [f for f in functions if isinstance(f, dict) and f.get("name")]


def _defined_names(code: str) -> set[str]:
    names: set[str] = set()
    for pattern in _DEFINES:
        for m in pattern.finditer(code):
            names.update(n.strip() for n in m.group(1).split(",") if n.strip())
    for m in _SIGNATURE.finditer(code):
        raw = next((g for g in m.groups() if g is not None), "")
        names.update(_params(raw))
    return names


_STRINGS_AND_COMMENTS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\''
    r"|`(?:\\.|[^`\\])*`|/\*[\s\S]*?\*/|(?<![\w\]])#(?![\[!]).*|//.*")
_ENGLISH_WORDS = (
    "the a an this that these those what which who whom whose why how when where here there "
    "is are was were be been being do does did can could will would should may might must "
    "it its it's of to in on at by for from with without about into over under and or but "
    "if then else not no yes any all some each every one two same other it also only just "
    "code line lines file function method class value values return returns work works "
    "wrong right fine ok okay happen happens go goes get gets use used using call called"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split(" "))


def code_only(code: str) -> str:
    """The code without its comments and string literals (their words are not symbols)."""
    return _STRINGS_AND_COMMENTS.sub(" ", code)


def _candidates(question: str, shown: str, selected: str) -> list[str]:
    """Symbols the question is about, most relevant first (duplicates removed)."""
    task = _PATH_RE.sub(" ", task_text(question))  # file names are not symbols
    shown, selected = code_only(shown), code_only(selected)
    used = set(_WORD.findall(shown)) - _ENGLISH
    found: list[str] = []
    found += [m.rsplit(".", 1)[-1] for m in _BACKTICKED.findall(task)]
    found += _CALLED_IN_TEXT.findall(task)
    for word in _WORD.findall(task):
        if word in used or "_" in word.strip("_") or re.search(r"[a-z][A-Z]", word):
            found.append(word)
    found += [m.group(1) for m in _CALL.finditer(selected)]
    out: list[str] = []
    for name in found:
        if name not in out:
            out.append(name)
    return out


def _lookup_tool(functions: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
    """The offered tool that finds definitions, and its parameter for the symbol."""
    for f in functions:
        about = f"{f['name']} {f.get('description') or ''}"
        if not _LOOKUP_WORDS.search(about) or re.search(r"\bread|\blines?\b", f["name"]):
            continue
        props = (f.get("parameters") or {}).get("properties") or {}
        strings = [k for k, v in props.items() if isinstance(v, dict)
                   and v.get("type", "string") == "string"]
        param = next((k for k in _SYMBOL_PARAMS if k in strings), strings[0] if strings else None)
        if param is not None:
            return f, param
    return None


def _argument_value(name: str, schema: dict[str, Any], question: str,
                    context: dict[str, str]) -> Any:
    """A plausible value for a parameter the model must fill."""
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
    if name in context:
        return context[name]
    m = re.search(r"\b(?:in|for|of|about|named)\s+([A-Z][\w-]*(?:\s+[A-Z][\w-]*)*)", question)
    if m:
        return m.group(1)
    words = re.findall(r"[A-Za-z]\w+", question)
    return words[-1] if words else name


def _arguments(function: dict[str, Any], question: str, context: dict[str, str]
               ) -> dict[str, Any]:
    params = function.get("parameters") or {}
    props = params.get("properties") or {}
    required = params.get("required") or list(props)
    return {k: _argument_value(k, props.get(k) or {}, question, context) for k in required}


def call_id(messages: list[dict[str, Any]], index: int, name: str, arguments: str) -> str:
    """A DeepSeek-style call id (`call_00_` + 24 letters and digits), stable per conversation."""
    seed = json.dumps(messages, sort_keys=True, ensure_ascii=False) + f"|{index}|{name}|{arguments}"
    digest = hashlib.sha256(seed.encode()).digest()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    token = "".join(alphabet[b % 62] for b in digest[:24])
    return f"call_{index:02d}_{token}"


def make_call(messages: list[dict[str, Any]], index: int, name: str,
              arguments: dict[str, Any] | str) -> dict[str, Any]:
    """One entry of `tool_calls`, with its `index` (dropped from non-streamed messages)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {"index": index, "id": call_id(messages, index, name, args), "type": "function",
            "function": {"name": name, "arguments": args}}


@dataclass
class Decision:
    """A tool call the model makes, and why (for its reasoning text)."""

    call: dict[str, Any]
    why: str


def decide(body: dict[str, Any], messages: list[dict[str, Any]], question: str,
           context: dict[str, str]) -> Decision | None:
    """The tool call the model makes now, or None to answer in prose.

    `context` maps parameter names to values the prompt gives (e.g. `path`).
    """
    functions = _functions(body.get("tools") or [])
    choice = body.get("tool_choice")
    if not functions or choice == "none":
        return None
    results = tool_results(messages)
    done = {(r.name, json.dumps(r.arguments, sort_keys=True)) for r in results}
    task = task_text(question).lower()

    forced = None
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        forced = next((f for f in functions if f["name"] == wanted), None)
    lookup = _lookup_tool([forced] if forced else functions)
    if forced is None:
        for f in functions:
            if lookup is not None and f is lookup[0]:
                continue  # asked for by name or not, it looks up the question's symbols
            words = " ".join(re.split(r"[_\W]+", f["name"].lower())).strip()
            if re.search(rf"\b{re.escape(f['name'].lower())}\b", task) or (
                    " " in words and words in task):
                args = _arguments(f, task_text(question), context)
                if (f["name"], json.dumps(args, sort_keys=True)) not in done:
                    return Decision(make_call(messages, 0, f["name"], args),
                                    f"The user asks me to use {f['name']}.")

    rounds = sum(1 for m in current_turn(messages)
                 if m.get("role") == "assistant" and m.get("tool_calls"))
    if lookup is not None and rounds < MAX_LOOKUPS and all(r.found for r in results):
        function, param = lookup
        code = "\n".join(m.group(2) for m in _FENCE_RE.finditer(question))
        blocks = _FENCE_RE.search(question)
        selected = blocks.group(2) if blocks else ""
        shown = code + "\n" + "\n".join(r.content for r in results)
        defined = _defined_names(shown)
        looked_up = {r.symbol for r in results}
        for name in _candidates(question, code, selected):
            if name in defined or name in _KNOWN or name in looked_up or len(name) < 2:
                continue
            args = {**_arguments(function, task_text(question), context), param: name}
            return Decision(make_call(messages, 0, function["name"], args),
                            f"The code uses `{name}`, which is not defined in what I was "
                            f"shown, so I will look it up with {function['name']}.")

    if forced is not None or choice == "required":
        f = forced or functions[0]
        return Decision(make_call(messages, 0, f["name"],
                                  _arguments(f, task_text(question), context)),
                        f"I have to call {f['name']}.")
    return None


def _quoted(content: str, lang: str, limit: int = 1200) -> str:
    text = content.strip()
    if len(text) > limit:
        text = text[:limit].rsplit("\n", 1)[0] + "\n…"
    if "```" in text:
        return text
    return f"```{lang}\n{text}\n```"


def results_preamble(results: list[ToolResult], lang: str) -> str:
    """Prose about what the tools returned, put before the answer itself."""
    parts = []
    for r in results:
        symbol = r.symbol
        what = f"`{symbol}`" if symbol else f"`{r.name}`"
        if not r.found:
            parts.append(f"I could not find the definition of {what} ({r.name} found "
                         f"nothing), so this answer goes by how it is used here.")
            continue
        where = _PATH_RE.search(r.content)
        place = f" in `{where.group()}`" if where else ""
        head = (f"I looked up {what}{place}; its definition is:" if symbol
                else f"{r.name} returned:")
        parts.append(f"{head}\n\n{_quoted(r.content, lang)}")
    return "\n\n".join(parts)
