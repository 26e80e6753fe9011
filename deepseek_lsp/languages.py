"""Every language the product knows, in one table: adding a language is adding one row.

A row says how to recognise the language (LSP language id, file suffixes and names, the
Markdown fence tags models use for it), how its comments and strings look (the prompt header,
post-processing), where its blocks open (single- or multi-line suggestions) and which lines
start a new top-level item (multi-line stop sequences). Languages missing from the table get
`#` comments and both quote kinds, which is right or harmless for most.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import PurePath


@dataclass(frozen=True)
class Language:
    """What the context builder, post-processing and chat need to know about a language."""

    id: str  # the LSP language id
    suffixes: tuple[str, ...] = ()  # file suffixes, for the command line (editors send ids)
    filenames: tuple[str, ...] = ()  # whole file names (Makefile)
    fence: str = ""  # the Markdown fence tag; "" means the id itself
    aliases: tuple[str, ...] = ()  # other tags and ids that mean this language
    family: str = ""  # languages whose code fits each other's (a `js` block in a TS file)
    comment: tuple[str, str] = ("#", "")  # how a one-line comment opens and closes
    quotes: str = "\"'"
    colon_opens_block: bool = False  # Python, YAML
    arrow_opens_block: bool = False  # `=>` in JS/TS
    keyword_openers: tuple[str, ...] = ()  # `then`, `do` ...
    markup: bool = False  # an opening tag at the end of a line opens a block
    # Multi-line stops: a new top-level item after a blank line ends the suggestion (one item
    # per suggestion keeps answers short and cheap).
    top_level_stops: tuple[str, ...] = ()

    @property
    def line_comment(self) -> str | None:
        return self.comment[0] if not self.comment[1] else None

    @property
    def fence_tag(self) -> str:
        return self.fence or self.id


_SLASH = ("//", "")
_JS_STOPS = ("\n\nfunction ", "\n\nasync function ", "\n\nexport ", "\n\nclass ",
             "\n\ninterface ", "\n\ntype ")
_JS = Language("javascript", (".js", ".mjs", ".cjs"), aliases=("js", "node", "mjs"),
               family="js", comment=_SLASH, quotes="\"'`", arrow_opens_block=True,
               top_level_stops=_JS_STOPS)
_SHELL = Language("shellscript", (".sh", ".bash", ".zsh"), fence="bash",
                  aliases=("sh", "bash", "zsh", "shell"),
                  keyword_openers=("then", "do", "else", "in"))
_MARKUP = Language("html", (".html", ".htm"), comment=("<!--", "-->"), quotes='"', markup=True)
_CSS = Language("css", (".css",), comment=("/*", "*/"))

#: The table. Order only matters for suffixes claimed twice (the first row wins).
LANGUAGES: tuple[Language, ...] = (
    Language("python", (".py", ".pyi"), aliases=("py", "python3", "py3"),
             colon_opens_block=True,
             top_level_stops=("\n\ndef ", "\n\nasync def ", "\n\nclass ", "\n\n@",
                              "\nif __name__")),
    _JS,
    replace(_JS, id="typescript", suffixes=(".ts", ".mts", ".cts"), aliases=("ts",)),
    replace(_JS, id="javascriptreact", suffixes=(".jsx",), fence="jsx", aliases=("jsx",),
            markup=True),
    replace(_JS, id="typescriptreact", suffixes=(".tsx",), fence="tsx", aliases=("tsx",),
            markup=True),
    Language("go", (".go",), aliases=("golang",), comment=_SLASH, quotes="\"'`",
             top_level_stops=("\n\nfunc ", "\n\ntype ", "\n\nvar ", "\n\nconst ")),
    Language("rust", (".rs",), aliases=("rs",), comment=_SLASH, quotes='"',
             top_level_stops=("\n\nfn ", "\n\npub ", "\n\nimpl ", "\n\n#[", "\n\nmod ")),
    Language("c", (".c", ".h"), family="c", comment=_SLASH),
    Language("cpp", (".cc", ".cpp", ".cxx", ".hpp", ".hh"), aliases=("c++", "cc", "cxx", "hpp"),
             family="c", comment=_SLASH),
    Language("objective-c", (".m",), fence="objc", aliases=("objc",), family="c",
             comment=_SLASH),
    Language("objective-cpp", (".mm",), family="c", comment=_SLASH),
    Language("csharp", (".cs",), aliases=("cs", "c#"), comment=_SLASH),
    Language("java", (".java",), comment=_SLASH),
    Language("kotlin", (".kt", ".kts"), aliases=("kt",), comment=_SLASH),
    Language("scala", (".scala",), comment=_SLASH),
    Language("swift", (".swift",), comment=_SLASH),
    Language("dart", (".dart",), comment=_SLASH),
    Language("php", (".php",), comment=_SLASH),
    Language("zig", (".zig",), comment=_SLASH),
    Language("proto", (".proto",), aliases=("protobuf",), comment=_SLASH),
    Language("ruby", (".rb",), aliases=("rb",), keyword_openers=("do", "then", "else", "begin")),
    _SHELL,
    Language("perl", (".pl", ".pm")),
    Language("r", (".r",)),
    Language("toml", (".toml",)),
    Language("dockerfile", filenames=("Dockerfile",), aliases=("docker",)),
    Language("makefile", filenames=("Makefile", "GNUmakefile"), aliases=("make",)),
    Language("powershell", (".ps1",), aliases=("ps1", "pwsh")),
    Language("julia", (".jl",)),
    Language("elixir", (".ex", ".exs"), aliases=("ex", "exs"), keyword_openers=("do",)),
    Language("yaml", (".yaml", ".yml"), aliases=("yml",), colon_opens_block=True),
    Language("dockercompose", fence="yaml", colon_opens_block=True),
    Language("lua", (".lua",), comment=("--", ""), keyword_openers=("then", "do", "else")),
    Language("sql", (".sql",), comment=("--", "")),
    Language("haskell", (".hs",), aliases=("hs",), comment=("--", "")),
    _MARKUP,
    replace(_MARKUP, id="xml", suffixes=(".xml",)),
    replace(_MARKUP, id="vue", suffixes=(".vue",)),
    replace(_MARKUP, id="svelte", suffixes=(".svelte",)),
    _CSS,
    replace(_CSS, id="scss", suffixes=(".scss",)),
    replace(_CSS, id="less", suffixes=(".less",)),
    Language("latex", (".tex",), aliases=("tex",), comment=("%", "")),
    Language("erlang", (".erl",), comment=("%", "")),
    Language("clojure", (".clj", ".cljs"), comment=(";", ""), quotes='"'),
    Language("ocaml", (".ml", ".mli"), comment=("(*", "*)"), quotes='"'),
    Language("json", (".json",), quotes='"'),
    Language("markdown", (".md",), aliases=("md",)),
    Language("plaintext", (".txt",), fence="text", aliases=("text", "txt")),
)

#: Used for ids the table does not know.
UNKNOWN = Language("plaintext")


@cache
def _by_name() -> dict[str, Language]:
    """Ids and aliases (lower case) → row; an id always wins over another row's alias."""
    out: dict[str, Language] = {}
    for lang in LANGUAGES:
        for alias in lang.aliases:
            out.setdefault(alias.lower(), lang)
    for lang in LANGUAGES:
        out[lang.id.lower()] = lang
    return out


@cache
def _by_suffix() -> dict[str, str]:
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        for suffix in lang.suffixes:
            out.setdefault(suffix, lang.id)
        for name in lang.filenames:
            out.setdefault(name, lang.id)
    return out


def language_for(language_id: str) -> Language:
    """The row of an LSP language id (or an alias); unknown ones get `#` comments."""
    return _by_name().get(language_id.lower(), replace(UNKNOWN, id=language_id))


def language_of_path(path: str) -> str:
    """The LSP language id of a file name, for the command line."""
    p = PurePath(path)
    table = _by_suffix()
    return table.get(p.name) or table.get(p.suffix.lower(), "plaintext")


def fence_tag(language_id: str | None) -> str:
    """The Markdown info string for an LSP language id."""
    if not language_id:
        return ""
    known = _by_name().get(language_id.lower())
    return known.fence_tag if known else language_id


def canonical_id(name: str) -> str:
    """The language id a fence tag or id means (`py` → `python`); unknown names as given."""
    known = _by_name().get(name.lower())
    return known.id if known else name.lower()


def same_family(a: str, b: str) -> bool:
    """Whether code tagged `a` can stand for code of `b` (equal, or one family)."""
    la, lb = _by_name().get(canonical_id(a)), _by_name().get(canonical_id(b))
    if la is None or lb is None:
        return canonical_id(a) == canonical_id(b)
    return la.id == lb.id or bool(la.family and la.family == lb.family)
