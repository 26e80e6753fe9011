"""The offline DeepSeek simulator: a real loopback HTTP server speaking DeepSeek's wire format.

Tests, benchmarks and `deepseek-lsp demo` / `deepseek-lsp fake-api` use it instead of the real
API. It serves `GET /models`, `GET /user/balance`, `POST /chat/completions` (also under `/beta`
for assistant-prefix completion, and `/v1`), and `POST /beta/completions` (FIM), JSON and SSE,
for model generation "v4" (`deepseek-v4-flash`, `deepseek-v4-pro`; old names are "Model Not
Exist") or "legacy" (`deepseek-chat`, `deepseek-reasoner`). It checks bearer keys, simulates the
prefix cache in whole `cache_unit` token units, answers with deterministic fake models, and
records every request. Timing settings: `ttft_ms` (time to first token of generating
answers), `tokens_per_s`, and `connect_ms` (the first request on each new connection waits
this much longer: TCP and TLS set-up with a far server, which a cold start pays).

    with SimulatorThread(generation="v4", api_key=None, cache_unit=64) as sim:
        sim.script(Rule(path="/beta/completions", status=429, retry_after=2.0, times=1))
        ... talk to sim.base_url ...
        sim.requests("/beta/completions")[-1].json["prompt"]

A request is answered in this order: a matching rule with a non-200 `status` or a raw `body`
(before the key check, like a failing gateway), then the bearer key (401), then the body checks
(400/422, "Model Not Exist", 402 when the configured balance is zero), then the fake model with
the rule's canned text and timing. Unknown paths are recorded and answered 404 (405 for a known
path with the wrong method), so a wrong base URL shows up in `requests()`.

DeepSeek features, as DeepSeek does them (400 bodies carry DeepSeek's own messages):
- Chat prefix completion: a last `{"role": "assistant", "content": "```python\n", "prefix":
  true}` is accepted only under `/beta/chat/completions` (elsewhere 400 "prefix is only
  available when using beta api ..."). After an open fence the model continues with the code
  only, then the closing fence, then its notes: a `stop` of "```" leaves just the code. For the
  edit actions (refactor, document, fix: the task words before the first code block decide)
  that is the same edit the plain answer's code block holds, in far fewer tokens.
- JSON output: `response_format: {"type": "json_object"}` needs the word "json" in a system or
  user message (else 400 "Prompt must contain the word 'json' ..."); `json_schema` is refused
  ("This response_format type is unavailable now"). The answer is JSON shaped like the example
  object in the prompt; a "write tests" request with an example such as
  `{"path": "...", "content": "..."}` gets `tests/test_<module>.py` (or the folder, naming and
  framework of the existing tests the prompt shows) and the whole test file.
- Tool calls: with OpenAI-style function `tools`, a question about a symbol the code shown does
  not define is answered with a call of the definition tool (e.g. `find_definition` with
  `{"name": "scale"}`), `finish_reason: "tool_calls"` and empty content; streamed as a delta
  with index, id (`call_00_...`), type and name with `arguments: ""`, then `arguments` pieces.
  After the `tool` results the answer is prose that quotes them (at most 3 look-ups per turn;
  "not found" ends them). A `tool` message that answers no call, or a call left unanswered, is
  a 400; in V4 thinking mode, assistant messages with `tool_calls` must carry their
  `reasoning_content` (400 otherwise), which V4 ignores elsewhere (legacy refuses it anywhere).
- Logprobs carry confidence: FIM `logprobs` (0-20) gives `tokens`, `token_logprobs`,
  `top_logprobs`, `text_offset` (per chunk when streamed). Text the model is sure of scores
  above ln 0.6; a guess (a FIM model returning `Guess(text)`, or a rule's `confidence`) scores
  about ln(probability) on its first tokens (ln 0.0025 by default).
- `max_tokens` cuts answers with `finish_reason: "length"`; on V4 thinking it covers the
  reasoning too.

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
    tool_calls      canned chat tool calls, `[{"name": ..., "arguments": {...}}, ...]` (in
                    parallel, indexes 0, 1, ...), instead of the model's own choice
    json_empty      JSON-mode chat answers with empty content (DeepSeek warns it may); the rule
                    matches JSON-mode requests only
    confidence      probability of the answer's guessed tokens (e.g. 0.0025): low logprobs
    unsure_from     character offset in the answer where that guess starts (default 0)
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

`RecordedRequest` adds to the agreed fields: `response_text`, `usage`, `finish_reason`,
`tool_calls` and `key_sha256` (the SHA-256 of the bearer token; the token itself is never
stored). `SimulatorThread.wait_for` blocks its thread; async tests use
`await sim.wait_for_async(...)`. `sim.fake.fim_model` may be replaced by any
`(prompt, suffix) -> str` callable; returning a `Guess` marks its answer as a guess.

Control endpoints for a simulator in another process (no key needed): `POST /_sim/rules` (a
JSON list of Rule field objects, appended), `POST /_sim/config` (configure keywords),
`POST /_sim/reset`, `GET /_sim/requests[?path=...]`, `GET /_sim/stats`.
"""

from .app import FakeDeepSeek, apply_limits
from .confidence import Guess
from .runner import SimulatorThread, serve
from .state import RecordedRequest, Rule
from .tokens import count_tokens

__all__ = [
    "FakeDeepSeek",
    "Guess",
    "RecordedRequest",
    "Rule",
    "SimulatorThread",
    "apply_limits",
    "count_tokens",
    "serve",
]
