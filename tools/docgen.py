"""The configuration reference (`docs/configuration.md`), generated from the settings model.

`render()` is pure: it reads `config.SETTINGS` (each key's type, range, default and meaning)
and `env_layer`, and returns Markdown. `tests/test_docs.py` fails when the committed file
differs from it. Regenerate from the repository root with `python -m tools.docgen --write`.
A developer tool: it is not part of the installed package.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

from deepseek_lsp.completion.context import SINGLE_LINE_MAX_TOKENS
from deepseek_lsp.completion.tokens import CHARS_PER_TOKEN
from deepseek_lsp.config import SETTINGS, SettingSpec, env_layer, json_value

DOC_PATH = Path("docs") / "configuration.md"
#: Defaults longer than this are listed under their own heading instead of in the table.
_INLINE_DEFAULT_CHARS = 60
_WIDTH = 100


def default_json(spec: SettingSpec) -> str:
    return json.dumps(json_value(spec.default), ensure_ascii=False)


class _Recorder(Mapping[str, str]):
    """An environment in which every variable is set to its own name in angle brackets."""

    def __getitem__(self, name: str) -> str:
        return f"<{name}>"

    def __iter__(self):  # pragma: no cover - env_layer only looks names up
        return iter(())

    def __len__(self) -> int:  # pragma: no cover
        return 0


def environment_variables() -> dict[str, str]:
    """Environment variable → setting key, as `config.env_layer` reads them."""
    layer = env_layer(_Recorder())
    return {value[1:-1]: key for key, value in layer.items()}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _para(text: str, indent: str = "") -> str:
    """One paragraph (or list item, with `indent` for its continuation lines), wrapped
    without breaking inside a `code span`."""
    glued = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", "\0"), text)
    wrapped = textwrap.fill(glued, width=_WIDTH, subsequent_indent=indent,
                            break_long_words=False, break_on_hyphens=False)
    return wrapped.replace("\0", " ")


def _heading_of_default(key: str) -> str:
    return f"Default of `{key}`"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading (enough for the headings written here)."""
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _is_long(spec: SettingSpec) -> bool:
    return len(default_json(spec)) > _INLINE_DEFAULT_CHARS


def _settings_table() -> list[str]:
    rows = ["| key | type / range | default | meaning |", "| --- | --- | --- | --- |"]
    for spec in SETTINGS:
        if _is_long(spec):
            shown = f"[see below](#{_slug(_heading_of_default(spec.key))})"
        else:
            shown = f"`{_cell(default_json(spec))}`"
        rows.append(f"| `{spec.key}` | {_cell(spec.kind)} | {shown} | {_cell(spec.description)} |")
    return rows


def _long_defaults() -> list[str]:
    out: list[str] = []
    for spec in filter(_is_long, SETTINGS):
        out += ["", f"### {_heading_of_default(spec.key)}", ""]
        if spec.key == "exclude":
            out += [_para(
                "Matched against the workspace-relative path, the absolute path and the "
                "path symlinks resolve to, case-insensitively, at any directory depth (`**/` "
                "may also match nothing). Setting `exclude` replaces "
                "this list: copy it and add to it rather than starting from an empty one."), ""]
        value = json_value(spec.default)
        out += ["```json", json.dumps(value, indent=2, ensure_ascii=False), "```"]
    return out


def render() -> str:
    """The whole of `docs/configuration.md`."""
    env_rows = [f"| `{name}` | `{key}` |" for name, key in environment_variables().items()]
    example = {"deepseek": {"model": "auto", "debounceMs": 100, "maxTokens": 256,
                            "disabledLanguages": ["markdown", "plaintext"]}}
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from deepseek_lsp/config.py by `python -m tools.docgen --write`.",
        "     Do not edit: tests/test_docs.py fails when this file differs from the model. -->",
        "",
        _para("All settings are optional camelCase keys. Editors send them in the LSP "
              "`initializationOptions` or as the `deepseek` section of "
              "`workspace/configuration`; both `{\"debounceMs\": 100}` and "
              "`{\"deepseek\": {\"debounceMs\": 100}}` are accepted. How each editor passes "
              "them is in [editors.md](editors.md)."),
        "",
        "## Where settings come from",
        "",
        "Later layers win, key by key:",
        "",
        "1. the defaults below;",
        "2. the environment (see [Environment variables](#environment-variables));",
        "3. `initializationOptions` of the LSP `initialize` request;",
        _para("4. the `deepseek` section of `workspace/configuration`, pulled after "
              "`initialized` and again on every `workspace/didChangeConfiguration` when the "
              "client supports it (a `deepseek` object pushed in that notification is taken "
              "as well).", "   "),
        "",
        _para("A `null` value counts as not set. Unknown keys are ignored (clients send their "
              "own keys in the same section). An invalid value is reported once with "
              "`window/showMessage`, naming the key and the accepted range, and the default is "
              "used instead. A new `apiKey` or `baseUrl` takes effect without a restart; any "
              "change of the settings also empties the completion cache and ends a pause "
              "after an authentication or balance error."),
        "",
        "## Settings",
        "",
        *_settings_table(),
        "",
        "Notes:",
        "",
        _para("- `model` and `chatModel` accept `auto` or any model name your account lists "
              "(`deepseek-lsp models`).", "  "),
        _para("- `prefixTokens` and `suffixTokens` are budgets in DeepSeek tokens, converted to "
              f"characters with a ratio calibrated on source code ({CHARS_PER_TOKEN:g} "
              "characters per token) and cut at line boundaries, so no tokenizer runs on a "
              "keystroke.", "  "),
        _para(f"- Single-line suggestions use at most {SINGLE_LINE_MAX_TOKENS} tokens, "
              "whatever `maxTokens` says.", "  "),
        _para("- `prices` only feeds the cost estimate of `deepseek.status`; it changes nothing "
              "that is sent.", "  "),
        *_long_defaults(),
        "",
        "## Environment variables",
        "",
        "| variable | setting |",
        "| --- | --- |",
        *env_rows,
        "",
        _para("They are the lowest layer above the defaults, so an editor setting overrides "
              "them. The standard proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, "
              "`NO_PROXY`) are honoured. Chat answers are written as Markdown files under "
              "`$XDG_CACHE_HOME/deepseek-lsp/answers` (by default "
              "`~/.cache/deepseek-lsp/answers`) for editors that can open documents; see "
              "[privacy.md](privacy.md)."),
        "",
        "## Example",
        "",
        "```json",
        json.dumps(example, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--write"]):
        print("usage: python -m tools.docgen [--write]", file=sys.stderr)
        return 2
    text = render()
    if args == ["--write"]:
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOC_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {DOC_PATH}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
