"""What a likely secret looks like: the rules of redaction, each finding spans of a text.

The reference is gitleaks' default rule set (`config/gitleaks.toml`, v8) for secrets that have
a shape of their own, and detect-secrets' `KeywordDetector` and `BasicAuthDetector` for those
recognised by the name they are assigned to and for passwords in URLs. The rules are re-expressed
here, not copied, for speed: `find_secrets` runs per keystroke on windows of ~8 KB, and Python's
`re` finds a pattern that starts with a literal as fast as `str.find`, but tries one that does
not at every position. So every pattern starts with a literal (a word boundary is checked with a
look-behind placed *after* it), and the keyword family is found with `str.find` on trigger words.

Families (see docs/privacy.md):
- private key blocks, `-----BEGIN … PRIVATE KEY-----` to `-----END … PRIVATE KEY-----`;
- tokens with a known shape: `sk-…` (DeepSeek, OpenAI, Anthropic), AWS access key ids, GitHub,
  GitLab, Slack (tokens and webhook URLs), Stripe, Google API keys, JSON Web Tokens, npm, PyPI,
  Hugging Face, SendGrid, DigitalOcean, Shopify, Twilio, `Bearer` tokens;
- the password of a URL, `scheme://user:PASSWORD@host`;
- a value assigned to a secret-sounding name (`password`, `secret`, `api_key`, `AUTH_TOKEN`, …):
  quoted, after `NAME=` at the start of a line (`.env`, shell, properties), or bare and shaped
  like a secret rather than like code (`aws_secret_access_key = wJalr…/K7MDENG…`).
"""

from __future__ import annotations

import re

Span = tuple[int, int]

#: How far before a window the BEGIN line of a private key block it starts inside is looked for
#: (an RSA 8192 key is ~6.5 KB of PEM, ~8 KB written as string literals line by line; a PGP
#: key with subkeys stays well under this).
KEY_BLOCK_LOOKBACK = 32 * 1024

_KEY_BLOCK = re.compile(
    r"-----BEGIN[A-Z0-9 _-]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r".*?(?:-----END[A-Z0-9 _-]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_KEY_BLOCK_END = re.compile(r"-----END[A-Z0-9 _-]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# Without the text before it, a window that starts inside a key block shows only base64 lines
# and then the END marker.
_KEY_BLOCK_TAIL = re.compile(
    r"\A[A-Za-z0-9+/=\r\n]*-----END[A-Z0-9 _-]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# The start of a marker line, right before its "PRIVATE KEY" (looked for backwards).
_MARKER_HEAD = re.compile(r"-----(BEGIN|END)[A-Z0-9 _-]{0,40}\Z")

# Tokens with a shape of their own: (pattern, group holding the secret).
_TOKENS: tuple[tuple[re.Pattern[str], int], ...] = tuple((re.compile(p), g) for p, g in (
    # DeepSeek, OpenAI, Anthropic (`sk-…`); Stripe secret keys (`sk_live_…`)
    (r"sk(?<![\w-]sk)(?:-[A-Za-z0-9_-]{20,}|_(?:live|test|prod)_[A-Za-z0-9]{10,})", 0),
    (r"A(?<!\wA)(?:KIA|SIA|BIA|CCA)[0-9A-Z]{16}(?![0-9A-Za-z])", 0),  # AWS access key id
    (r"gh(?<!\wgh)[pousr]_[A-Za-z0-9]{30,}", 0),  # GitHub tokens
    (r"github_pat_(?<!\wgithub_pat_)\w{22,}", 0),  # GitHub fine-grained tokens
    (r"gl(?<!\wgl)(?:pat|ptt|dt|rt|ft|cbt|soat|oas|agent|imt|ffct)-[\w-]{20,}", 0),  # GitLab
    (r"xox(?<!\wxox)[abposre]-[A-Za-z0-9-]{10,}", 0),  # Slack tokens
    (r"xapp-(?<!\wxapp-)\d-[A-Za-z0-9-]{10,}", 0),  # Slack app tokens
    (r"hooks.slack.com/(?:services|workflows|triggers)/([A-Za-z0-9+/]{20,})", 1),
    (r"rk_(?<!\wrk_)(?:live|test|prod)_[A-Za-z0-9]{10,}", 0),  # Stripe restricted keys
    (r"AIza(?<!\wAIza)[\w-]{35}", 0),  # Google API keys
    (r"ey(?<![\w-]ey)[A-Za-z0-9_-]{10,}\.ey[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*", 0),  # JWT
    (r"npm_(?<!\wnpm_)[A-Za-z0-9]{36}", 0),
    (r"pypi-AgEIcHlwaS5vcmc[\w-]{50,}", 0),
    (r"hf_(?<!\whf_)[A-Za-z]{34}(?![A-Za-z0-9])", 0),  # Hugging Face
    (r"SG\.(?<!\wSG\.)[\w-]{22}\.[\w-]{43}", 0),  # SendGrid
    (r"do(?<!\wdo)[opr]_v1_[a-f0-9]{64}", 0),  # DigitalOcean
    (r"shp(?<!\wshp)(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", 0),  # Shopify
    (r"SK(?<!\wSK)[0-9a-fA-F]{32}(?![0-9A-Za-z])", 0),  # Twilio
    (r"earer(?<=[Bb]earer)[ \t]+(?=[^\s\"']*\d)([A-Za-z0-9._~+/-]{16,}=*)", 1),  # Bearer …
    # scheme://user:PASSWORD@host (detect-secrets BasicAuthDetector)
    (r"://[^\s:/?#@'\"`<>{}]*:([^\s/?#@'\"`<>{}]+)@", 1),
))

# -- secret-sounding names -------------------------------------------------------------------

_TRIGGERS = ("pass", "pwd", "secret", "token", "key", "auth", "cred")
#: Words that make any value worth hiding; a name ending in the others (`key`, `token`, `auth`)
#: hides only values that look generated (digits and letters, no spaces).
_STRONG = frozenset({"password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret",
                     "credential", "credentials", "creds"})
_WEAK = frozenset({"key", "token", "auth", "apikey"})
#: `apikey`, `dbpass`, `authtoken`: one-word compounds of these and a secret word count too
#: (`monkey`, `bypass`, `compass` do not).
_PREFIXES = frozenset({"api", "access", "secret", "private", "priv", "auth", "client", "app",
                       "master", "db", "user", "admin", "root", "refresh", "session", "bearer",
                       "service", "signing", "encryption", "account", "bot", "personal"})
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_NAME_REST = re.compile(r"[\w.-]*")
_NAME_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_ASSIGNMENT = re.compile(
    r"""(?P<close>["'\]]{0,2})(?P<pre>[ \t]*)(?P<op>:=|=>|=(?![=>~])|:(?![:=/]))(?P<post>[ \t]*)
    (?:[rRbBuUfF@]{0,2}(?P<q>["'`])(?P<quoted>(?:(?!(?P=q))[^\\\r\n]|\\.)*)(?P=q)
      |(?P<bare>[^\s"'`,;()\[\]{}<>]+))""",
    re.VERBOSE,
)
# what may precede NAME=value on its line: nothing, `export`, a Dockerfile `ENV`/`ARG`, a YAML
# list's dash (docker-compose `environment:`); never indentation alone (a keyword argument)
_ENV_LEAD = re.compile(r"(?:[ \t]*-[ \t]+|(?:export|ENV|ARG|set)[ \t]+)?")
_NON_SPACE = re.compile(r"\S+")
_CODE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")  # a variable or attribute chain
#: How bare values that are references, not literals, begin: `$VAR`, `@attr`, `&x`, `*ptr`, a
#: path, a negative number, a YAML tag, a SQL bind parameter.
_NOT_LITERAL = ("$", "@", "&", "*", "%", "/", "~", ".", "-", "!", ":", "?")
_NUMBER = re.compile(r"[-+]?\d[\d_.,]*")
_TEMPLATE = re.compile(r"\$\{[^}]*\}|\$\w+|\{\{.*\}\}|\{\w*\}|<[^<>]*>|%[sd]|%\(\w+\)[sd]"
                       r"|\*+|\.{3}|…")


def _secret_name(name: str) -> bool | None:
    """None when `name` does not sound secret; else whether it is a strong one (any value)."""
    parts = [p.lower() for p in _NAME_PARTS.findall(name)]
    if not parts:
        return None
    last = parts[-1].rstrip("0123456789")  # password2
    strong = any(p in _STRONG for p in parts)
    if last in _STRONG or last in _WEAK:
        return strong
    for word in ("password", "passwd", "passphrase", "secret", "credentials", "credential"):
        if last.endswith(word):  # pgpassword, topsecret
            return True
    for word in ("pass", "pwd", "key", "token", "auth", "creds"):
        if last.endswith(word) and last[:-len(word)] in _PREFIXES:
            return strong or word in _STRONG or last[:-len(word)] == "secret"
    return None


def _generated(value: str) -> bool:
    """Reads like a generated key rather than a word: letters and digits, no spaces."""
    return (len(value) >= 8 and any(c.isdigit() for c in value)
            and any(c.isalpha() for c in value) and not any(c.isspace() for c in value))


def _not_code(value: str, strong: bool) -> bool:
    """A bare value that is a literal, not an expression (a variable, attribute, number)."""
    if value.startswith(_NOT_LITERAL) or _NUMBER.fullmatch(value):
        return False
    if _CODE_NAME.fullmatch(value):  # only long random-looking names pass
        return (len(value) >= 16 and "_" not in value and "." not in value
                and sum(c.isdigit() for c in value) >= 3)
    return len(value) >= 6 if strong else _generated(value) and len(value) >= 10


def _assigned_value(text: str, name_start: int, match: re.Match[str], strong: bool
                    ) -> Span | None:
    """The span of the value in `match` (an assignment to a secret name), if it is a secret."""
    quoted = match.group("quoted")
    if quoted is not None:
        if _TEMPLATE.fullmatch(quoted) or len(quoted) < 4 or not (strong or _generated(quoted)):
            return None
        return match.span("quoted")
    start = match.start("bare")
    line_start = text.rfind("\n", 0, name_start) + 1
    if (match.group("op") == "=" and not match.group("pre") and not match.group("post")
            and not match.group("close")
            and _ENV_LEAD.fullmatch(text, line_start, name_start)):
        # NAME=value at the start of a line: .env, shell, properties: the value is a literal
        value = _NON_SPACE.match(text, start)
        assert value is not None
        word = value.group()
        if (len(word) < 4 or word.startswith(("$", "/", "~", "./")) or "(" in word
                or _TEMPLATE.fullmatch(word)):
            return None
        return value.span()
    bare = match.group("bare")
    end = match.end("bare")
    if end < len(text) and text[end] in "([":  # a call or a subscript: code
        return None
    if _TEMPLATE.fullmatch(bare) or not _not_code(bare, strong):
        return None
    return start, end


def _assignments(text: str) -> list[Span]:
    lowered = text.lower()
    seen: set[int] = set()
    spans: list[Span] = []
    for trigger in _TRIGGERS:
        at = lowered.find(trigger)
        while at != -1:
            rest = _NAME_REST.match(text, at + len(trigger))
            assert rest is not None
            name_end = rest.end()
            if name_end not in seen:
                seen.add(name_end)
                match = _ASSIGNMENT.match(text, name_end)
                if match:
                    name_start = at
                    while (name_start > 0 and at - name_start < 64
                           and text[name_start - 1] in _NAME_CHARS):
                        name_start -= 1
                    strong = _secret_name(text[name_start:name_end])
                    if strong is not None:
                        span = _assigned_value(text, name_start, match, strong)
                        if span:
                            spans.append(span)
            at = lowered.find(trigger, at + 1)
    return spans


# -- private key blocks ------------------------------------------------------------------------


def inside_key_block(text: str, pos: int) -> bool:
    """Whether `pos` lies inside a private key block that began before it (its BEGIN line within
    `KEY_BLOCK_LOOKBACK` characters): a window starting there sees no BEGIN line of its own."""
    floor = max(0, pos - KEY_BLOCK_LOOKBACK)
    at = text.rfind("PRIVATE KEY", floor, pos)
    while at != -1:
        head = _MARKER_HEAD.search(text, max(floor, at - 60), at)
        if head:
            return head.group(1) == "BEGIN"
        at = text.rfind("PRIVATE KEY", floor, at)
    return False


def _key_blocks(text: str, starts_inside: bool | None) -> list[Span]:
    spans: list[Span] = []
    if starts_inside:  # up to the END line, or the whole text
        end = _KEY_BLOCK_END.search(text)
        spans.append((0, end.end() if end else len(text)))
    if "PRIVATE KEY" not in text:
        return spans
    tail = _KEY_BLOCK_TAIL.match(text) if starts_inside is None else None
    if tail:  # not known: base64 lines, then an END line
        spans.append(tail.span())
    spans += (m.span() for m in _KEY_BLOCK.finditer(text))
    return spans


# -- all together ------------------------------------------------------------------------------


def find_secrets(text: str, *, starts_in_key_block: bool | None = None) -> list[Span]:
    """Spans of likely secrets in `text`, sorted and without overlaps (overlapping ones merged).

    `starts_in_key_block`: whether `text` begins inside a private key block (see
    `inside_key_block`); None when that is not known, and then text that starts with base64
    lines followed by an END line is taken to.
    """
    spans = _key_blocks(text, starts_in_key_block)
    for pattern, group in _TOKENS:
        spans += (m.span(group) for m in pattern.finditer(text))
    spans += _assignments(text)
    if len(spans) < 2:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start < last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged
