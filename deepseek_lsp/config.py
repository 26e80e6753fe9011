"""The settings model: every key, its default, its accepted range and its meaning, in one place.

Settings arrive as camelCase keys from up to four layers, later ones winning:
defaults < environment (`DEEPSEEK_API_KEY`, `DEEPSEEK_BASE_URL`) < LSP `initializationOptions`
< `workspace/configuration` section `deepseek`. An invalid value never crashes anything: it is
reported once (as a `SettingProblem`) and the default is used instead — except the base URL,
which is refused rather than replaced, so that the key never goes where the user did not say.

Each key is declared once, as a field of `Settings` made by `setting(...)`: its type, default,
range and meaning. `SETTINGS` lists their `SettingSpec`s, from which the validator here, the
configuration reference (docs/configuration.md) and the VS Code extension's JSON schema are
generated (tools/docgen.py).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BASE_URL = "https://api.deepseek.com"

#: Files whose content never leaves the machine, matched case-insensitively against the
#: workspace-relative path, the absolute path and the symlink-resolved path of a file.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    # environment files
    "**/.env",
    "**/.env.*",
    "**/*.env",
    "**/.envrc",
    # private keys and certificate stores
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
    "**/*.keystore",
    "**/*.jks",
    "**/*.ppk",
    "**/id_rsa*",
    "**/id_dsa*",
    "**/id_ecdsa*",
    "**/id_ed25519*",
    # the home directory's secret stores
    "**/.ssh/**",
    "**/.gnupg/**",
    "**/.password-store/**",
    "**/.aws/**",
    "**/.azure/**",
    "**/.config/gcloud/**",
    "**/.oci/**",
    "**/.kube/config",
    "**/.docker/config.json",
    "**/.config/gh/hosts.yml",
    "**/.terraform.d/credentials.tfrc.json",
    "**/.vault-token",
    "**/.netrc",
    "**/_netrc",
    "**/.npmrc",
    "**/.pypirc",
    "**/.gem/credentials",
    "**/.cargo/credentials",
    "**/.cargo/credentials.toml",
    "**/.git-credentials",
    "**/.pgpass",
    "**/.my.cnf",
    "**/.s3cfg",
    "**/.boto",
    "**/.htpasswd",
    # secrets files and password databases
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


# ---------------------------------------------------------------------------------------------
# Checks: each takes a value as an editor sends it and returns the converted value or raises
# ValueError. `SettingSpec` picks one by its `type`.


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise ValueError


def _number(v: Any, integer: bool) -> int | float:
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v:  # NaN is not a number
        raise ValueError
    if integer:
        if int(v) != v:
            raise ValueError
        return int(v)
    return float(v)


def _nonempty_str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError
    return v.strip()


def _optional_key(v: Any) -> str | None:
    if v is None or v == "":
        return None
    return _nonempty_str(v)


def _url(v: Any) -> str:
    """Any non-empty string: whether it is a usable base URL is judged by `base_url_problem`,
    because an invalid base URL must be refused, never replaced by the default."""
    return _nonempty_str(v).rstrip("/")


def _str_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise ValueError
    return tuple(v)


_PRICE_KEYS = {"cacheHit": "cache_hit", "cacheMiss": "cache_miss", "output": "output"}
PRICE_FIELDS = {
    "cacheHit": "Price per million prompt tokens served from DeepSeek's context cache.",
    "cacheMiss": "Price per million prompt tokens not in the cache.",
    "output": "Price per million output tokens.",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def json_value(value: Any) -> Any:
    """A value as an editor would send it: tuples as lists, dataclasses as camelCase objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): json_value(getattr(value, f.name))
                for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    return value


def _prices(v: Any) -> Prices:
    if not isinstance(v, Mapping):
        raise ValueError
    values: dict[str, Any] = {}
    for key, val in v.items():
        if key == "currency":
            values["currency"] = _nonempty_str(val)
        elif key in _PRICE_KEYS:
            number = _number(val, integer=False)
            if not 0 <= number <= 1_000:
                raise ValueError
            values[_PRICE_KEYS[key]] = number
        else:
            raise ValueError
    return Prices(**values)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "boolean": _bool, "string": _nonempty_str, "key": _optional_key, "url": _url,
    "languages": _str_list, "globs": _str_list, "prices": _prices,
}
#: How each type reads in messages and in the configuration reference.
_TYPE_TEXT = {
    "boolean": "boolean", "string": "string", "key": "string", "url": "http(s) URL",
    "languages": "list of language ids", "globs": "list of globs",
    "prices": "object {cacheHit, cacheMiss, output, currency}",
    "integer": "integer", "number": "number",
}


@dataclass(frozen=True)
class SettingSpec:
    """One key of the settings: its type, default, range and meaning. The validator, the
    configuration reference and the VS Code extension's schema are all made from these."""

    key: str  # camelCase, as editors send it
    type: str  # one of _TYPE_TEXT's keys
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    attr: str = ""  # the attribute of Settings (filled in from the field)

    @property
    def kind(self) -> str:
        """Type and range as a person reads them: `integer 0-2000`."""
        text = _TYPE_TEXT[self.type]
        if self.minimum is not None and self.maximum is not None:
            text += f" {self.minimum:g}-{self.maximum:g}"
        return text

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the key (type, range, default): the VS Code extension's
        `contributes.configuration` entry is made from it."""
        default = json_value(self.default)
        if self.type in ("integer", "number"):
            schema: dict[str, Any] = {"type": self.type}
            if self.minimum is not None:
                schema["minimum"] = json_value(self.minimum)
            if self.maximum is not None:
                schema["maximum"] = json_value(self.maximum)
        elif self.type == "boolean":
            schema = {"type": "boolean"}
        elif self.type in ("languages", "globs"):
            schema = {"type": "array", "items": {"type": "string"}}
        elif self.type == "prices":
            props: dict[str, Any] = {
                key: {"type": "number", "minimum": 0, "maximum": 1000, "description": text}
                for key, text in PRICE_FIELDS.items()}
            props["currency"] = {"type": "string", "description": "Currency of these prices."}
            schema = {"type": "object", "properties": props, "additionalProperties": False}
        elif self.type == "url":
            schema = {"type": "string", "pattern": "^https?://",
                      "patternErrorMessage": "An http:// or https:// URL."}
        else:
            schema = {"type": "string"}
        schema["default"] = default
        return schema

    def check(self, value: Any) -> Any:
        """The value converted, or ValueError when it is not of the type or out of range."""
        if self.type in ("integer", "number"):
            number = _number(value, integer=self.type == "integer")
            if (self.minimum is not None and number < self.minimum) or (
                    self.maximum is not None and number > self.maximum):
                raise ValueError
            return number
        return _CHECKS[self.type](value)


def setting(key: str, type: str, default: Any, description: str, *,
            minimum: float | None = None, maximum: float | None = None) -> Any:
    """A `Settings` field whose spec travels with it (so each key is written once)."""
    spec = SettingSpec(key, type, default, description, minimum, maximum)
    return field(default=default, metadata={"spec": spec})


@dataclass(frozen=True)
class Settings:
    """The effective settings. Build with `load_settings`; never mutate (use `replace`)."""

    api_key: str | None = setting(
        "apiKey", "key", None, "DeepSeek API key. Prefer the DEEPSEEK_API_KEY environment "
        "variable or the editor's secret storage.")
    base_url: str = setting(
        "baseUrl", "url", DEFAULT_BASE_URL, "API base URL; FIM goes to "
        "{baseUrl}/beta/completions, chat to {baseUrl}/chat/completions. An invalid URL is "
        "refused (no request is sent), never replaced by the default.")
    allow_insecure_http: bool = setting(
        "allowInsecureHttp", "boolean", False, "Allow an `http://` base URL on a host other "
        "than this machine (the key and your code then travel unencrypted).")
    enable: bool = setting("enable", "boolean", True, "Inline completions on or off.")
    model: str = setting(
        "model", "string", "auto", "FIM model; `auto` picks a FIM-capable model from "
        "GET /models (newest flash-class first).")
    chat_model: str = setting(
        "chatModel", "string", "auto", "Model for code actions and chat; `auto` picks one "
        "from GET /models.")
    chat_reasoning: bool = setting(
        "chatReasoning", "boolean", False, "Ask for thinking mode in chat (reasoning is "
        "shown apart from the answer).")
    prices: Prices = setting(
        "prices", "prices", Prices(), "Prices per million tokens, for cost estimates only.")
    debounce_ms: int = setting(
        "debounceMs", "integer", 100, "Wait at least this long after the last keystroke "
        "(counted from the edit, not from the editor's request) before asking the API "
        "mid-line or after a block opener. On a fresh line and right after accepting a "
        "suggestion the server asks at once.", minimum=0, maximum=2000)
    adaptive_debounce: bool = setting(
        "adaptiveDebounce", "boolean", True, "Mid-line, wait longer than `debounceMs` for a "
        "typist whose gaps between keystrokes are longer: until a gap clearly longer than "
        "their usual one (1.2 × the 90th percentile of their recent gaps; a gap over 0.5 s is a "
        "pause, not rhythm), so typing "
        "does not cost a request per word. Off: `debounceMs` is the wait.")
    max_tokens: int = setting(
        "maxTokens", "integer", 128, "Most tokens one multi-line suggestion may have "
        "(single-line ones use fewer).", minimum=1, maximum=4096)
    temperature: float = setting(
        "temperature", "number", 0.0, "Sampling temperature for completions.",
        minimum=0, maximum=2)
    prefix_tokens: int = setting(
        "prefixTokens", "integer", 1536, "Budget of tokens of text before the cursor.",
        minimum=64, maximum=32000)
    suffix_tokens: int = setting(
        "suffixTokens", "integer", 512, "Budget of tokens of text after the cursor.",
        minimum=0, maximum=16000)
    timeout_ms: int = setting(
        "timeoutMs", "integer", 8000, "Overall deadline of one completion request.",
        minimum=500, maximum=120_000)
    disabled_languages: tuple[str, ...] = setting(
        "disabledLanguages", "languages", ("plaintext", "markdown", "git-commit", "gitcommit"),
        "Languages without inline completions (a list you set replaces this default list).")
    exclude: tuple[str, ...] = setting(
        "exclude", "globs", DEFAULT_EXCLUDE, "Files whose content is never sent "
        "(replaces the default list of secret files).")
    neighbor_files: bool = setting(
        "neighborFiles", "boolean", True, "Add snippets of other open files of the same "
        "language to the prompt.")
    redact_secrets: bool = setting(
        "redactSecrets", "boolean", True, "Replace likely secrets (API keys, private key "
        "blocks) in prompts with a placeholder.")
    min_confidence: float = setting(
        "minConfidence", "number", 0.01, "Hide a suggestion whose first tokens the model "
        "gave less than this probability, and cut a multi-line one where a line's confidence "
        "falls below it (from FIM `logprobs`; 0 turns the check off).", minimum=0, maximum=1)
    stream_completions: bool = setting(
        "streamCompletions", "boolean", True, "Stream FIM answers and stop early once the "
        "suggestion is complete.")
    chat_max_tokens: int = setting(
        "chatMaxTokens", "integer", 8192, "Most tokens one chat answer or code action may "
        "produce (sent as `max_tokens`; thinking counts too), so one question cannot run up "
        "the bill. The default fits the largest edit (a 6,000-token selection, repeated) and "
        "is also `deepseek-chat`'s own maximum. A cut answer says so; a cut edit is not "
        "applied.", minimum=256, maximum=65536)
    answer_pages: bool = setting(
        "answerPages", "boolean", True, "Write each chat answer as a Markdown page under the "
        "cache directory and open it with `window/showDocument`. Editors with a chat view of "
        "their own (the VS Code extension, the Neovim plugin) turn this off.")

    chat_lookups: bool = setting(
        "chatLookups", "boolean", True, "Let a question or an explanation look up definitions "
        "and line ranges in the open documents and the workspace (tool calls, at most three "
        "rounds, excluded files never read) before it answers. Off: only the selection is "
        "sent.")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def base_url_problem(self) -> str | None:
        """Why no request may go to `base_url`, or None when it may."""
        return base_url_problem(self.base_url, self.allow_insecure_http)

    def __repr__(self) -> str:  # the key must never reach a log
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        shown["api_key"] = "<set>" if self.api_key else None
        inner = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"Settings({inner})"


def _specs() -> tuple[SettingSpec, ...]:
    return tuple(dataclasses.replace(f.metadata["spec"], attr=f.name)
                 for f in dataclasses.fields(Settings))


SETTINGS: tuple[SettingSpec, ...] = _specs()
SPEC_BY_KEY: dict[str, SettingSpec] = {s.key: s for s in SETTINGS}


def is_loopback_host(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (the only hosts plain http may carry a key to)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url_problem(url: str, allow_insecure_http: bool = False) -> str | None:
    """Why `url` cannot be DeepSeek's base URL (the key would go somewhere unintended), or
    None. `http://` is fine to this machine; elsewhere only with `allowInsecureHttp`."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises for a port out of range
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
            or any(c.isspace() for c in url) or parts.query or parts.fragment:
        return (f"the base URL {url[:80]!r} (`baseUrl` or DEEPSEEK_BASE_URL) is not an "
                f"http(s) URL such as {DEFAULT_BASE_URL}; no request is sent until it is fixed")
    del port
    if insecure_http(url) and not allow_insecure_http:
        return (f"the base URL {url[:80]!r} is plain http to another machine, which would send "
                "your key and code unencrypted; no request is sent. Use https, or set "
                "`allowInsecureHttp` to true if you mean it")
    return None


def insecure_http(url: str) -> bool:
    """`http://` to a host other than this machine."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "http" and not is_loopback_host(parts.hostname or "")


@dataclass(frozen=True)
class SettingProblem:
    key: str
    value_repr: str
    kind: str
    text: str | None = None  # the whole message, when "using the default" is not the case

    @property
    def message(self) -> str:
        if self.text:
            return f"DeepSeek: {self.text}."
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
    url_problem = settings.base_url_problem
    shown_url = repr(settings.base_url)[:80]
    if url_problem:
        problems.append(SettingProblem("baseUrl", shown_url, "http(s) URL", url_problem))
    elif insecure_http(settings.base_url):
        problems.append(SettingProblem(
            "allowInsecureHttp", shown_url, "boolean",
            f"`allowInsecureHttp` is on: your key and code go unencrypted to {shown_url}"))
    return settings, problems


def default_value(spec: SettingSpec) -> Any:
    return spec.default
