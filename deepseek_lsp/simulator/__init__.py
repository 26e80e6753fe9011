"""The offline DeepSeek simulator: a real loopback HTTP server speaking DeepSeek's wire format.

Tests, benchmarks and `deepseek-lsp demo` / `deepseek-lsp fake-api` use it instead of the real
API. It serves `GET /models`, `GET /user/balance`, `POST /chat/completions` (also under `/beta`
for assistant-prefix completion, and `/v1`), and `POST /beta/completions` (FIM), JSON and SSE,
for model generation "v4" (`deepseek-v4-flash`, `deepseek-v4-pro`; old names are "Model Not
Exist") or "legacy" (`deepseek-chat`, `deepseek-reasoner`). It checks bearer keys, simulates the
prefix cache in whole `cache_unit` token units, answers with deterministic fake models, and
records every request.

    with SimulatorThread(generation="v4", api_key=None, cache_unit=64) as sim:
        sim.script(Rule(path="/beta/completions", status=429, retry_after=2.0, times=1))
        ... talk to sim.base_url ...
        sim.requests("/beta/completions")[-1].json["prompt"]

A request is answered in this order: a matching rule with a non-200 `status` or a raw `body`
(before the key check, like a failing gateway), then the bearer key (401), then the body checks
(400/422, "Model Not Exist", 402 when the configured balance is zero), then the fake model with
the rule's canned text and timing. Unknown paths are recorded and answered 404 (405 for a known
path with the wrong method), so a wrong base URL shows up in `requests()`.

`Rule` fields (all optional; first matching rule in scripting order wins; `times=None` forever):
    path            exact request path; None matches every DeepSeek endpoint
    match           substring required in the FIM prompt+suffix or the last user message
    status          HTTP status (200 = answer normally); errors get DeepSeek's error body
    error_message   message for the error body
    retry_after     seconds, sent as the Retry-After header
    body            raw response body sent as-is (HTML error page, broken JSON, ...)
    content_type    content type of `body` (guessed: HTML if it starts with "<", else JSON)
    text            canned FIM text / chat content (stop and max_tokens still apply)
    reasoning       canned reasoning_content
    stall_s         wait this long before answering
    keepalive_s     while waiting, send keep-alives this often: blank lines before a JSON body,
                    `: keep-alive` comments on SSE
    drop_after_chunks  SSE: close the TCP connection after N chunks (before [DONE] at the
                    latest); JSON: 0 drops before any byte, N > 0 after half the body
    truncate        SSE: end without finish_reason and [DONE]; JSON: send half the body
    empty_choices   answer with "choices": []
    ttft_s          time to first token (overrides the `ttft_ms` setting)
    chunk_delay_s   gap per token (overrides `tokens_per_s`)
    times           how many requests the rule answers before it is removed

`RecordedRequest` adds to the agreed fields: `response_text`, `usage` and `key_sha256` (the
SHA-256 of the bearer token; the token itself is never stored). `SimulatorThread.wait_for`
blocks its thread; async tests use `await sim.wait_for_async(...)`.

Control endpoints for a simulator in another process (no key needed): `POST /_sim/rules` (a
JSON list of Rule field objects, appended), `POST /_sim/config` (configure keywords),
`POST /_sim/reset`, `GET /_sim/requests[?path=...]`, `GET /_sim/stats`.
"""

from .app import FakeDeepSeek, apply_limits
from .runner import SimulatorThread, serve
from .state import RecordedRequest, Rule
from .tokens import count_tokens

__all__ = [
    "FakeDeepSeek",
    "RecordedRequest",
    "Rule",
    "SimulatorThread",
    "apply_limits",
    "count_tokens",
    "serve",
]
