"""The settings model: every key, its default, its accepted range and its meaning, in one place.

Settings arrive as camelCase keys from up to four layers, later ones winning:
defaults < environment (`DEEPSEEK_API_KEY`, `DEEPSEEK_BASE_URL`) < LSP `initializationOptions`
< `workspace/configuration` section `deepseek`. An invalid value never crashes anything: it is
reported once (as a `SettingProblem`) and the default is used instead.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BASE_URL = "https://api.deepseek.com"

#: Files whose content never leaves the machine (matched against the path, case-insensitive).
DEFAULT_EXCLUDE: tuple[str, ...] = (
    "**/.env",
    "**/.env.*",
    "**/*.env",
    "**/.envrc",
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
    "**/*.keystore",
    "**/*.jks",
    "**/id_rsa*",
    "**/id_dsa*",
    "**/id_ecdsa*",
    "**/id_ed25519*",
    "**/.ssh/**",
    "**/.gnupg/**",
    "**/.aws/credentials",
    "**/.docker/config.json",
    "**/.netrc",
    "**/.npmrc",
    "**/.pypirc",
    "**/.git-credentials",
    "**/secrets.*",
    "**/*.kdbx",
)


@dataclass(frozen=True)
class Prices:
    """Token prices per million tokens, used only for cost estimates (`deepseek.status`)."""

    cache_hit: float = 0.028
    cache_miss: float = 0.28
    output: float = 0.42
    currency: str = "USD"

    def cost(self, hit_tokens: int, miss_tokens: int, output_tokens: int) -> float:
        return (
            hit_tokens * self.cache_hit
            + miss_tokens * self.cache_miss
            + output_tokens * self.output
        ) / 1_000_000


@dataclass(frozen=True)
class Settings:
    """The effective settings. Build with `load_settings`; never mutate (use `replace`)."""

    api_key: str | None = None
    base_url: str = DEFAULT_BASE_URL
    enable: bool = True
    model: str = "auto"
    chat_model: str = "auto"
    chat_reasoning: bool = False
    prices: Prices = field(default_factory=Prices)
    debounce_ms: int = 150
    max_tokens: int = 128
    temperature: float = 0.0
    prefix_tokens: int = 1536
    suffix_tokens: int = 512
    timeout_ms: int = 8000
    disabled_languages: tuple[str, ...] = ("plaintext", "markdown", "git-commit", "gitcommit")
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    neighbor_files: bool = True
    redact_secrets: bool = True
    stream_completions: bool = True

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:  # the key must never reach a log
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        shown["api_key"] = "<set>" if self.api_key else None
        inner = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"Settings({inner})"


@dataclass(frozen=True)
class SettingSpec:
    """One key of the settings: how to check it and what it means (the docs come from here)."""

    key: str  # camelCase, as editors send it
    attr: str  # attribute of Settings
    kind: str  # human-readable type and range, used in messages and docs
    description: str
    check: Callable[[Any], Any]  # returns the converted value or raises ValueError


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise ValueError


def _int_range(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int | float) or int(v) != v:
            raise ValueError
        if not lo <= v <= hi:
            raise ValueError
        return int(v)

    return check


def _float_range(lo: float, hi: float) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise ValueError
        return float(v)

    return check


def _nonempty_str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError
    return v.strip()


def _optional_key(v: Any) -> str | None:
    if v is None or v == "":
        return None
    return _nonempty_str(v)


def _url(v: Any) -> str:
    s = _nonempty_str(v)
    if not s.startswith(("http://", "https://")):
        raise ValueError
    return s.rstrip("/")


def _str_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise ValueError
    return tuple(v)


def _prices(v: Any) -> Prices:
    if not isinstance(v, Mapping):
        raise ValueError
    known = {"cacheHit": "cache_hit", "cacheMiss": "cache_miss", "output": "output"}
    values: dict[str, Any] = {}
    for key, val in v.items():
        if key == "currency":
            values["currency"] = _nonempty_str(val)
        elif key in known:
            values[known[key]] = _float_range(0.0, 1_000.0)(val)
        else:
            raise ValueError
    return Prices(**values)


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("apiKey", "api_key", "string", "DeepSeek API key. Prefer the DEEPSEEK_API_KEY "
                "environment variable or the editor's secret storage.", _optional_key),
    SettingSpec("baseUrl", "base_url", "http(s) URL", "API base URL; FIM goes to "
                "{baseUrl}/beta/completions, chat to {baseUrl}/chat/completions.", _url),
    SettingSpec("enable", "enable", "boolean", "Inline completions on or off.", _bool),
    SettingSpec("model", "model", "string", "FIM model; `auto` picks a FIM-capable model from "
                "GET /models (newest flash-class first).", _nonempty_str),
    SettingSpec("chatModel", "chat_model", "string", "Model for code actions and chat; `auto` "
                "picks one from GET /models.", _nonempty_str),
    SettingSpec("chatReasoning", "chat_reasoning", "boolean", "Ask for thinking mode in chat "
                "(reasoning is shown apart from the answer).", _bool),
    SettingSpec("prices", "prices", "object {cacheHit, cacheMiss, output, currency}",
                "Prices per million tokens, for cost estimates only.", _prices),
    SettingSpec("debounceMs", "debounce_ms", "integer 0-2000", "Wait this long after the last "
                "keystroke before asking the API.", _int_range(0, 2000)),
    SettingSpec("maxTokens", "max_tokens", "integer 1-4096", "Most tokens one multi-line "
                "suggestion may have (single-line ones use fewer).", _int_range(1, 4096)),
    SettingSpec("temperature", "temperature", "number 0-2", "Sampling temperature for "
                "completions.", _float_range(0.0, 2.0)),
    SettingSpec("prefixTokens", "prefix_tokens", "integer 64-32000", "Budget of tokens of "
                "text before the cursor.", _int_range(64, 32000)),
    SettingSpec("suffixTokens", "suffix_tokens", "integer 0-16000", "Budget of tokens of text "
                "after the cursor.", _int_range(0, 16000)),
    SettingSpec("timeoutMs", "timeout_ms", "integer 500-120000", "Overall deadline of one "
                "completion request.", _int_range(500, 120_000)),
    SettingSpec("disabledLanguages", "disabled_languages", "list of language ids",
                "Languages without inline completions.", _str_list),
    SettingSpec("exclude", "exclude", "list of globs", "Files whose content is never sent "
                "(replaces the default list of secret files).", _str_list),
    SettingSpec("neighborFiles", "neighbor_files", "boolean", "Add snippets of other open files "
                "of the same language to the prompt.", _bool),
    SettingSpec("redactSecrets", "redact_secrets", "boolean", "Replace likely secrets (API "
                "keys, private key blocks) in prompts with a placeholder.", _bool),
    SettingSpec("streamCompletions", "stream_completions", "boolean", "Stream FIM answers and "
                "stop early once the suggestion is complete.", _bool),
)

SPEC_BY_KEY: dict[str, SettingSpec] = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class SettingProblem:
    key: str
    value_repr: str
    kind: str

    @property
    def message(self) -> str:
        return (f"DeepSeek: setting `{self.key}` = {self.value_repr} is invalid "
                f"(expected {self.kind}); using the default.")


def env_layer(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings taken from the environment."""
    environ = os.environ if environ is None else environ
    layer: dict[str, Any] = {}
    if environ.get("DEEPSEEK_API_KEY"):
        layer["apiKey"] = environ["DEEPSEEK_API_KEY"]
    if environ.get("DEEPSEEK_BASE_URL"):
        layer["baseUrl"] = environ["DEEPSEEK_BASE_URL"]
    return layer


def _unwrap(layer: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Accept both `{...}` and `{"deepseek": {...}}` (clients differ in what they send)."""
    if not isinstance(layer, Mapping):
        return {}
    inner = layer.get("deepseek")
    if isinstance(inner, Mapping):
        return inner
    return layer


def load_settings(
    layers: Iterable[Mapping[str, Any] | None],
    base: Settings | None = None,
) -> tuple[Settings, list[SettingProblem]]:
    """Merge layers (later wins) over `base` (defaults) and validate every key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in _unwrap(layer).items():
            if value is not None:
                merged[key] = value
    values: dict[str, Any] = {}
    problems: list[SettingProblem] = []
    for key, value in merged.items():
        spec = SPEC_BY_KEY.get(key)
        if spec is None:
            continue  # unknown keys are ignored: clients send their own keys in the same section
        try:
            values[spec.attr] = spec.check(value)
        except (ValueError, TypeError):
            shown = "<hidden>" if spec.attr == "api_key" else repr(value)[:60]
            problems.append(SettingProblem(key, shown, spec.kind))
    settings = (base or Settings()).replace(**values)
    return settings, problems


def default_value(spec: SettingSpec) -> Any:
    return getattr(Settings(), spec.attr)
