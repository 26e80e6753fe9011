"""The simulator's deterministic fill-in-the-middle "model".

It is not clever; it is plausible and stable, so that a demo reads sensibly and tests can
predict it. It looks at the current (last) line of the prompt, the line before it and the start
of the suffix, and knows a handful of patterns for Python, JavaScript/TypeScript, Go and Rust:
a body after a block opener, a module after `import`, code for a `# comment` line, arguments for
an open call (repeating the closing bracket the editor already inserted, as real models do), and
otherwise the rest of an earlier line that starts like the current one.
"""

from __future__ import annotations

import re

#: How far back into the prompt the model looks; keeps 1 MB prompts as cheap as small ones.
_WINDOW = 16_384
#: How many lines back a suggestion may have started for typing through it to continue it.
_TYPED_LINES = 8

_EXT_LANG = {
    "py": "python", "pyi": "python", "js": "javascript", "jsx": "javascript",
    "mjs": "javascript", "cjs": "javascript", "ts": "typescript", "tsx": "typescript",
    "go": "go", "rs": "rust",
}
_EXT_RE = re.compile(r"\.(pyi?|jsx?|mjs|cjs|tsx?|go|rs)\b")
_LANG_NAME_RE = re.compile(r"\b(python|javascript|typescript|golang|go|rust)\b", re.IGNORECASE)
_CLOSERS = {"(": ")", "[": "]", "{": "}"}

_PY_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\((.*)\)\s*(?:->\s*[^:]+)?:\s*$")
_PY_CLASS = re.compile(r"^(\s*)class\s+(\w+)\s*(?:\(.*\))?\s*:\s*$")
_PY_BLOCK = re.compile(r"^(\s*)(if|elif|else|for|while|with|try|except|finally)\b.*:\s*$")
_C_FUNC = re.compile(
    r"^(\s*)(?:export\s+)?(?:async\s+)?(?:pub\s+)?(?:function\s*\*?\s*|fn\s+|func\s+(?:\([^)]*\)\s*)?)"
    r"(\w+)\s*(?:<[^>]*>)?\s*\((.*?)\)[^{]*\{\s*$"
)
_C_ARROW = re.compile(
    r"^(\s*)(?:export\s+)?(?:const|let|var)\s+(\w+)\s*(?::[^=]+)?=\s*(?:async\s*)?"
    r"\(?(.*?)\)?\s*(?::[^=]+)?=>\s*\{\s*$"
)
_C_BLOCK = re.compile(r"^(\s*)(if|else|for|while|switch|try|catch|class|impl|struct)\b.*\{\s*$")
_DEF_ANY = re.compile(
    r"^\s*(?:async\s+)?(?:def|function|func|fn|pub\s+fn)\s+(\w+)\s*\(([^)]*)\)", re.MULTILINE
)


_LANG_CUES = (
    ("go", re.compile(r"^\s*package \w+|\bfunc \w+\(|:= ", re.MULTILINE)),
    ("rust", re.compile(r"\bfn \w+\(|\blet mut\b|\bimpl\b|println!")),
    ("typescript", re.compile(r"\binterface \w+|:\s*(?:string|number|boolean)\b")),
    ("javascript", re.compile(r"\bfunction\b|\bconst \w+ =|=>|console\.log|;[ \t]*$",
                              re.MULTILINE)),
)


def guess_language(prompt: str, suffix: str = "") -> str:
    """The language of the file: from a path or name in the header, else from syntax cues."""
    head = prompt[:400]
    m = _EXT_RE.search(head)
    if m:
        return _EXT_LANG[m.group(1)]
    m = _LANG_NAME_RE.search(head)
    if m:
        name = m.group(1).lower()
        return "go" if name == "golang" else name
    text = prompt[-1500:] + suffix[:500]
    for lang, pattern in _LANG_CUES:
        if pattern.search(text):
            return lang
    return "python"


def _indent_unit(text: str, lang: str) -> str:
    """The file's indentation step (tab, 2 or 4 spaces), guessed from its first indented line."""
    if lang == "go":
        return "\t"
    m = re.search(r"^([ \t]+)\S", text, re.MULTILINE)
    if not m:
        return "    " if lang in ("python", "rust") else "  "
    ws = m.group(1)
    if ws.startswith("\t"):
        return "\t"
    return "  " if len(ws) in (2, 6) else "    "


def _params(raw: str) -> list[str]:
    """Parameter names from a signature's text, without `self`/`cls`, types or defaults."""
    names = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        part = part.lstrip("*&").removeprefix("mut ")
        name = re.split(r"[:=\s]", part, maxsplit=1)[0].strip("*&?")
        if name and name not in ("self", "cls", "this") and re.match(r"^\w+$", name):
            names.append(name)
    return names


def _words(name: str) -> list[str]:
    """`computeSum` / `compute_sum` -> ["compute", "sum"]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ")
    return [w.lower() for w in spaced.split()]


def humanize(name: str) -> str:
    """A short sentence for a function name: `compute_sum` -> 'Compute sum.'."""
    words = _words(name) or [name]
    text = " ".join(words)
    return text[:1].upper() + text[1:] + "."


# --- bodies of well-known functions ---------------------------------------------------------------

_KINDS: tuple[tuple[str, str], ...] = (
    ("fib", "fibonacci"), ("factorial", "factorial"), ("prime", "is_prime"),
    ("reverse", "reverse"), ("greet", "greet"), ("hello", "greet"), ("average", "average"),
    ("mean", "average"), ("max", "maximum"), ("min", "minimum"), ("sum", "add"),
    ("add", "add"), ("plus", "add"), ("sub", "subtract"), ("mul", "multiply"),
    ("div", "divide"), ("main", "main"), ("sort", "sort"),
)

# Templates use {name}, {a}, {b}; lines are relative to the body's indentation, "\t" = one step.
_BODIES: dict[str, dict[str, str]] = {
    "fibonacci": {
        "python": "if {a} <= 1:\n\treturn {a}\nreturn {name}({a} - 1) + {name}({a} - 2)",
        "js": "if ({a} <= 1) {{\n\treturn {a};\n}}\nreturn {name}({a} - 1) + {name}({a} - 2);",
        "go": "if {a} <= 1 {{\n\treturn {a}\n}}\nreturn {name}({a}-1) + {name}({a}-2)",
        "rust": "if {a} <= 1 {{\n\treturn {a};\n}}\n{name}({a} - 1) + {name}({a} - 2)",
    },
    "factorial": {
        "python": "if {a} <= 1:\n\treturn 1\nreturn {a} * {name}({a} - 1)",
        "js": "if ({a} <= 1) {{\n\treturn 1;\n}}\nreturn {a} * {name}({a} - 1);",
        "go": "if {a} <= 1 {{\n\treturn 1\n}}\nreturn {a} * {name}({a}-1)",
        "rust": "if {a} <= 1 {{\n\treturn 1;\n}}\n{a} * {name}({a} - 1)",
    },
    "is_prime": {
        "python": "if {a} < 2:\n\treturn False\nfor i in range(2, int({a} ** 0.5) + 1):\n"
                  "\tif {a} % i == 0:\n\t\treturn False\nreturn True",
        "js": "if ({a} < 2) {{\n\treturn false;\n}}\nfor (let i = 2; i * i <= {a}; i++) {{\n"
              "\tif ({a} % i === 0) {{\n\t\treturn false;\n\t}}\n}}\nreturn true;",
    },
    "reverse": {"python": "return {a}[::-1]",
                "js": "return {a}.split(\"\").reverse().join(\"\");"},
    "greet": {
        "python": "return f\"Hello, {{{a}}}!\"",
        "js": "return `Hello, ${{{a}}}!`;",
        "go": "return fmt.Sprintf(\"Hello, %s!\", {a})",
        "rust": "format!(\"Hello, {{}}!\", {a})",
    },
    "average": {"python": "if not {a}:\n\treturn 0.0\nreturn sum({a}) / len({a})",
                "js": "return {a}.reduce((s, x) => s + x, 0) / {a}.length;"},
    "maximum": {"python": "return max({a})", "js": "return Math.max(...{a});"},
    "minimum": {"python": "return min({a})", "js": "return Math.min(...{a});"},
    "add": {"python": "return {a} + {b}", "js": "return {a} + {b};", "go": "return {a} + {b}",
            "rust": "{a} + {b}"},
    "subtract": {"python": "return {a} - {b}", "js": "return {a} - {b};",
                 "go": "return {a} - {b}", "rust": "{a} - {b}"},
    "multiply": {"python": "return {a} * {b}", "js": "return {a} * {b};",
                 "go": "return {a} * {b}", "rust": "{a} * {b}"},
    "divide": {"python": "if {b} == 0:\n\traise ZeroDivisionError(\"division by zero\")\n"
                         "return {a} / {b}",
               "js": "if ({b} === 0) {{\n\tthrow new Error(\"division by zero\");\n}}\n"
                     "return {a} / {b};"},
    "sort": {"python": "return sorted({a})", "js": "return [...{a}].sort((x, y) => x - y);"},
    "main": {"python": "print(\"Hello, world!\")", "js": "console.log(\"Hello, world!\");",
             "go": "fmt.Println(\"Hello, world!\")", "rust": "println!(\"Hello, world!\");"},
}

#: Default parameters when the model writes a whole function itself (from a comment).
_KIND_PARAMS = {
    "fibonacci": ["n"], "factorial": ["n"], "is_prime": ["n"], "reverse": ["s"],
    "greet": ["name"], "average": ["numbers"], "maximum": ["numbers"], "minimum": ["numbers"],
    "add": ["a", "b"], "subtract": ["a", "b"], "multiply": ["a", "b"], "divide": ["a", "b"],
    "sort": ["items"], "main": [],
}


def kind_of(name: str) -> str | None:
    """Which well-known function a name looks like (`fib_memo` -> fibonacci), if any."""
    low = name.lower()
    if low.startswith("test"):
        return None
    for key, kind in _KINDS:
        if key in low:
            return kind
    return None


_DESCRIPTIONS = {
    "fibonacci": "Return the {a}-th Fibonacci number.", "factorial": "Return {a} factorial.",
    "is_prime": "Return True if {a} is a prime number.", "reverse": "Return {a} reversed.",
    "greet": "Return a greeting for {a}.", "average": "Return the mean of {a}.",
    "maximum": "Return the largest item of {a}.", "minimum": "Return the smallest item of {a}.",
    "add": "Return the sum of {a} and {b}.", "subtract": "Return {a} minus {b}.",
    "multiply": "Return the product of {a} and {b}.", "divide": "Return {a} divided by {b}.",
    "sort": "Return the items of {a} in ascending order.", "main": "Run the program.",
}


def describe(name: str, params: list[str]) -> str:
    """A one-sentence docstring for function `name`."""
    template = _DESCRIPTIONS.get(kind_of(name) or "")
    if template is None or ("{a}" in template and not params) or (
            "{b}" in template and len(params) < 2):
        return humanize(name)
    return template.format(a=params[0] if params else "", b=params[1] if len(params) > 1 else "")


def _family(lang: str) -> str:
    return "js" if lang in ("javascript", "typescript") else lang


def _generic_body(lang: str, name: str, params: list[str]) -> str:
    fam = _family(lang)
    if fam == "python":
        return f'"""{describe(name, params)}"""\n' + (f"return {params[0]}" if params else "pass")
    if fam == "js":
        return f"return {params[0]};" if params else f'console.log("{name}");'
    if fam == "go":
        return f"return {params[0]}" if params else f'fmt.Println("{name}")'
    return params[0] if params else f'println!("{name}");'


def function_body(lang: str, name: str, params: list[str]) -> str:
    """The body of function `name`, lines relative to its indentation ("\\t" = one level)."""
    kind = kind_of(name)
    fam = _family(lang)
    template = _BODIES.get(kind or "", {}).get(fam)
    if template is None:
        return _generic_body(lang, name, params)
    a = params[0] if params else "n"
    b = params[1] if len(params) > 1 else "b"
    return template.format(name=name, a=a, b=b)


def _render(body: str, indent: str, unit: str) -> list[str]:
    """Body lines with absolute indentation."""
    lines = []
    for line in body.split("\n"):
        depth = len(line) - len(line.lstrip("\t"))
        lines.append(indent + unit * depth + line.lstrip("\t"))
    return lines


def _join_at_cursor(lines: list[str], typed_indent: str) -> str:
    """Join rendered lines into completion text, minus the indentation already typed."""
    first = lines[0]
    if typed_indent and first.startswith(typed_indent):
        first = first[len(typed_indent):]
    return "\n".join([first, *lines[1:]])


def _signature(lang: str, name: str, params: list[str]) -> str:
    """A function header for a function the model writes itself."""
    if lang == "python":
        return f"def {name}({', '.join(params)}):"
    if lang == "typescript":
        typed = ", ".join(f"{p}: number" for p in params)
        return f"function {name}({typed}) {{"
    if lang == "javascript":
        return f"function {name}({', '.join(params)}) {{"
    if lang == "go":
        typed = ", ".join(f"{p} int" for p in params)
        return f"func {name}({typed}) int {{" if params else f"func {name}() {{"
    typed = ", ".join(f"{p}: u64" for p in params)
    return f"fn {name}({typed}) -> u64 {{" if params else f"fn {name}() {{"


def _whole_function(lang: str, name: str, indent: str, unit: str) -> list[str]:
    """Signature, body and closing brace of a function the model writes from scratch."""
    params = _KIND_PARAMS.get(kind_of(name) or "", ["value"])
    if lang == "go" and name != "main":
        name = name[:1].upper() + name[1:]  # exported, as Go code usually is
    lines = [indent + _signature(lang, name, params)]
    lines += _render(function_body(lang, name, params), indent + unit, unit)
    if lang != "python":
        lines.append(indent + "}")
    return lines


# --- the patterns -----------------------------------------------------------------------------


def _suffix_first_line(suffix: str) -> str:
    """The first non-blank line of the suffix (its first line only when it is a whole line)."""
    lines = suffix.split("\n")
    if lines and not lines[0][:1].isspace():
        lines = lines[1:]
    for line in lines[:8]:
        if line.strip():
            return line
    return ""


def _body_after_opener(opener: str, lang: str, unit: str, suffix: str,
                       prompt: str) -> list[str] | None:
    """Indented body lines for the block `opener` opens, or None if it is not an opener."""
    m = _PY_DEF.match(opener)
    if m:
        indent, name, params = m.group(1) + unit, m.group(2), _params(m.group(3))
        nxt = _suffix_first_line(suffix)
        inside = nxt.startswith(indent) and f"{name}(" in nxt
        if kind_of(name) in ("fibonacci", "factorial") and inside and params:
            # The recursion is already below the cursor: supply only the base case.
            base = "return 1" if kind_of(name) == "factorial" else f"return {params[0]}"
            return [f"{indent}if {params[0]} <= 1:", f"{indent}{unit}{base}"]
        if name == "__init__":
            return [f"{indent}self.{p} = {p}" for p in params] or [f"{indent}pass"]
        if name in ("__repr__", "__str__"):
            cls = re.findall(r"^\s*class\s+(\w+)", prompt[-_WINDOW:], re.MULTILINE)
            return [f'{indent}return f"{cls[-1] if cls else "Object"}()"']
        return _render(function_body("python", name, params), indent, unit)
    m = _PY_CLASS.match(opener)
    if m:
        indent = m.group(1) + unit
        noun = " ".join(_words(m.group(2)))
        return [f'{indent}"""A {noun}."""', "", f"{indent}def __init__(self):",
                f"{indent}{unit}self.items = []"]
    m = _PY_BLOCK.match(opener)
    if m:
        indent, word = m.group(1) + unit, m.group(2)
        loop = re.match(r"\s*for\s+(\w+)", opener)
        if loop:
            return [f"{indent}print({loop.group(1)})"]
        if word == "with":
            alias = re.search(r"\bas\s+(\w+)\s*:", opener)
            return [f"{indent}data = {alias.group(1) if alias else 'f'}.read()"]
        if word == "while":
            return [f"{indent}break"]
        if re.match(r"\s*if\s+__name__\s*==", opener):
            return [f"{indent}main()"]
        in_def = re.search(r"^\s+return\b|^\s*def\s", prompt[-2000:], re.MULTILINE)
        if word in ("if", "elif"):
            return [f"{indent}return True" if in_def else f"{indent}pass"]
        if word == "else":
            return [f"{indent}return False" if in_def else f"{indent}pass"]
        if word == "except":
            return [f"{indent}raise"]
        return [f"{indent}pass"]
    for pattern in (_C_FUNC, _C_ARROW):
        m = pattern.match(opener)
        if m:
            indent = m.group(1)
            body = function_body(lang, m.group(2), _params(m.group(3)))
            return [*_render(body, indent + unit, unit), indent + "}"]
    m = _C_BLOCK.match(opener)
    if m:
        indent = m.group(1)
        stmt = {"js": "return true;", "go": "return nil", "rust": "return;"}.get(_family(lang), "")
        if m.group(2) in ("class", "impl", "struct"):
            stmt = {"js": "constructor() {}", "go": "value int", "rust": "value: u64,"}.get(
                _family(lang), "")
        return [indent + unit + stmt, indent + "}"]
    return None


def _comment_text(line: str) -> str | None:
    s = line.strip()
    for mark in ("#", "//"):
        if s.startswith(mark) and not s.startswith("#!") and not s.startswith("#["):
            return s[len(mark):].strip().lstrip("/").strip()
    return None


_STOP_WORDS = frozenset(("a", "an", "the", "of", "to", "and", "for", "in", "this", "that", "it",
                         "is", "with", "todo"))


def _code_for_comment(comment: str, lang: str, indent: str, unit: str) -> list[str]:
    """Code that does what a `# comment` line says."""
    words = re.findall(r"[a-z]+", comment.lower())
    kind = next((k for w in words if (k := kind_of(w))), None)
    if kind is not None:
        name = kind
    else:
        content = [w for w in words if w not in _STOP_WORDS]
        name = "_".join(content[:3]) or "helper"
    if lang != "python":
        head, *rest = name.split("_")
        name = head + "".join(p.title() for p in rest)  # camelCase outside Python
    return _whole_function(lang, name, indent, unit)


_IMPORTS = {
    "python": {"import": "os", "from": "typing import Any"},
    "javascript": {"import": '{ useState } from "react";'},
    "typescript": {"import": 'type { Request, Response } from "express";'},
    "go": {"import": '"fmt"'},
    "rust": {"use": "std::collections::HashMap;"},
}
_FROM_IMPORTS = {"typing": "Any", "dataclasses": "dataclass", "pathlib": "Path",
                 "collections": "defaultdict", "os": "path", "__future__": "annotations"}


def _import_completion(line: str, lang: str) -> str | None:
    s = line.lstrip()
    table = _IMPORTS.get(lang, {})
    for key, text in table.items():
        if s == key + " ":
            return text
    if lang == "python":
        m = re.match(r"from\s+([\w.]+)\s+import\s+$", s)
        if m:
            return _FROM_IMPORTS.get(m.group(1), m.group(1).rsplit(".", 1)[-1].title())
        if s == "from":
            return " typing import Any"
        if s == "import":
            return " os"
    if lang == "go" and s == "import (":
        return '\n\t"fmt"\n\t"strings"\n)'
    return None


def _unclosed(line: str) -> list[str]:
    """Brackets opened on this line and not yet closed, innermost last (strings skipped)."""
    stack: list[str] = []
    quote = ""
    for ch in line:
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in _CLOSERS:
            stack.append(ch)
        elif ch in ")]}" and stack and _CLOSERS[stack[-1]] == ch:
            stack.pop()
    return stack


def _call_arguments(line: str, prompt: str) -> str:
    """Plausible arguments for the call left open at the end of `line`."""
    m = re.search(r"([\w.]+)\s*\($", line)
    callee = m.group(1) if m else ""
    short = callee.rsplit(".", 1)[-1]
    if short in ("print", "log", "Println", "println!", "info", "debug"):
        return '"Hello, world!"' if short != "println!" else '"{}", value'
    if short in ("range", "sleep"):
        return "10"
    if short in ("len", "str", "int", "float", "sorted", "list", "sum"):
        names = re.findall(r"^\s*(\w+)\s*=", prompt[-2000:], re.MULTILINE)
        return names[-1] if names else "items"
    if short == "open":
        return '"data.txt"'
    if short:
        for fname, params in reversed(_DEF_ANY.findall(prompt[-_WINDOW:])):
            if fname == short:
                names = _params(params)
                assigned = set(re.findall(r"^\s*(\w+)\s*=", prompt[-2000:], re.MULTILINE))
                if all(n in assigned for n in names):
                    return ", ".join(names)
                return ", ".join(str(i + 2) for i in range(len(names)))
    return ""


def _finish_identifier(prompt: str, line: str) -> str | None:
    """The rest of the nearest earlier identifier that starts with the word being typed."""
    m = re.search(r"[A-Za-z_]\w*$", line)
    if not m or len(m.group()) < 2:
        return None
    partial = m.group()
    earlier = prompt[-4000:-len(line)] if len(line) < len(prompt) else ""
    found = re.findall(rf"\b{partial}\w+", earlier)
    return found[-1][len(partial):] if found else None


def _repeat_earlier_line(prompt: str, line: str) -> str | None:
    """The rest of the nearest earlier line that starts like the current one."""
    typed = line.strip()
    if len(typed) < 2:
        return None
    lines = prompt[-8000:].split("\n")[:-1]
    for earlier in reversed(lines):
        s = earlier.strip()
        if s.startswith(typed) and len(s) > len(typed):
            return s[len(typed):]
    return None


_DEF_STARTS = ("def ", "async def ", "function ", "async function ", "func ", "fn ", "pub fn ",
               "export function ")


def _last_definition(prompt: str) -> tuple[str, str] | None:
    """Name and parameter text of the nearest function defined above the cursor."""
    for line in reversed(prompt[-4000:].split("\n")):
        if line.lstrip().startswith(_DEF_STARTS):
            m = _DEF_ANY.match(line.replace("export ", "", 1))
            if m:
                return m.group(1), m.group(2)
    return None


def _fallback_statement(prompt: str, lang: str, line: str) -> str:
    """Something short and syntactically plausible when no pattern applies."""
    s = line.rstrip()
    if s.endswith("return"):
        return " None" if lang == "python" else (" nil" if lang == "go" else " null;")
    if s.endswith("="):
        return " None" if lang == "python" else " 0;"
    if s.strip():
        if len(s.split()) >= 3 and not re.search(r"[(){}\[\]=:;]", s):
            # Prose (a docstring, a comment, a story): finish the sentence.
            return ("" if line.endswith(" ") else " ") + "it was simple, clear and easy to test."
        if lang == "python":
            return ""
        return ";" if _family(lang) == "js" and not s.endswith((";", "{", "}")) else ""
    last = _last_definition(prompt)
    call = f"{last[0]}({', '.join('1' for _ in _params(last[1]))})" if last else None
    if lang == "python":
        return f"print({call})" if call else "pass"
    if _family(lang) == "js":
        return f"console.log({call});" if call else "return;"
    if lang == "go":
        return f"fmt.Println({call})" if call else "return"
    return f'println!("{{}}", {call});' if call else "return;"


def fim_completion(prompt: str, suffix: str | None = None) -> str:
    """The simulated model's raw completion between `prompt` and `suffix` (before stops)."""
    suffix = suffix or ""
    lang = guess_language(prompt, suffix)
    window = prompt[-_WINDOW:]
    return _complete(window, suffix, lang, _indent_unit(window, lang), continue_typed=True)


def _continue_typed(prompt: str, suffix: str, lang: str, unit: str) -> str | None:
    """The rest of what the model would have suggested a few lines back, if the text typed
    since then matches it: typing through a suggestion keeps the same suggestion."""
    starts = []
    pos = len(prompt)
    for _ in range(_TYPED_LINES):
        pos = prompt.rfind("\n", 0, pos)
        if pos < 0:
            starts.append(0)
            break
        starts.append(pos + 1)
    for start in reversed(starts):
        typed = prompt[start:]
        if not typed.strip():
            continue
        earlier = _complete(prompt[:start], suffix, lang, unit, continue_typed=False)
        if len(earlier) > len(typed) and earlier.startswith(typed):
            return earlier[len(typed):]
    return None


def _complete(prompt: str, suffix: str, lang: str, unit: str, continue_typed: bool) -> str:
    cut = prompt.rfind("\n")
    line = prompt[cut + 1:]
    before = prompt[:cut] if cut >= 0 else ""
    prev = before[before.rfind("\n") + 1:] if cut >= 0 else ""
    rest_of_line = suffix.split("\n", 1)[0]

    if continue_typed:
        continued = _continue_typed(prompt, suffix, lang, unit)
        if continued is not None:
            return continued

    if not line.strip():
        # At the start of a line: continue the block the previous line opened, or the comment.
        if prev.strip():
            body = _body_after_opener(prev, lang, unit, suffix, prompt)
            if body is not None:
                return _join_at_cursor(body, line)
            comment = _comment_text(prev)
            if comment:
                indent = prev[: len(prev) - len(prev.lstrip())]
                return _join_at_cursor(_code_for_comment(comment, lang, indent, unit), line)
        return _fallback_statement(prompt, lang, line)

    if not rest_of_line.strip() or rest_of_line[:1].isspace():
        # Cursor at the end of a line that opens a block or is a comment: break the line.
        body = _body_after_opener(line, lang, unit, suffix, prompt)
        if body is not None:
            # Code already after the cursor goes on a line of its own below the body.
            tail = "\n" if rest_of_line.strip() else ""
            return "\n" + "\n".join(body) + tail
        comment = _comment_text(line)
        if comment and not rest_of_line.strip():
            indent = line[: len(line) - len(line.lstrip())]
            return "\n" + "\n".join(_code_for_comment(comment, lang, indent, unit))

    imported = _import_completion(line, lang)
    if imported is not None:
        return imported

    stack = _unclosed(line)
    if stack and line.rstrip()[-1:] in "([{":
        args = _call_arguments(line.rstrip(), prompt)
        closers = "".join(_CLOSERS[c] for c in reversed(stack))
        text = args + closers
        if not rest_of_line.strip():
            # Nothing after the cursor: finish the statement too.
            if lang == "python" and re.match(r"\s*(def|class|if|elif|for|while|with)\b", line):
                text += ":"
            elif _family(lang) in ("js", "rust"):
                text += ";"
        return text

    repeated = _repeat_earlier_line(prompt, line)
    if repeated is not None:
        return repeated
    word = _finish_identifier(prompt, line)
    if word is not None:
        return word
    return _fallback_statement(prompt, lang, line)
