"""The offline DeepSeek simulator, over real loopback HTTP (httpx; no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deepseek_lsp.simulator import FakeDeepSeek, RecordedRequest, Rule, SimulatorThread, serve
from deepseek_lsp.simulator.app import start_site
from deepseek_lsp.simulator.state import PrefixStore, SimulatorState

KEY = "sk-test-0123456789abcdef"
FIM = "/beta/completions"
CHAT = "/chat/completions"
V4 = "deepseek-v4-flash"


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as sim:
        yield sim


@pytest.fixture
def sim(shared_sim: SimulatorThread) -> SimulatorThread:
    shared_sim.reset()
    shared_sim.configure(generation="v4", api_key=None, cache_unit=64, ttft_ms=0,
                         tokens_per_s=0, balance=[{"currency": "CNY", "total_balance": "110.00",
                                                   "granted_balance": "10.00",
                                                   "topped_up_balance": "100.00"}])
    return shared_sim


@pytest.fixture
def client(sim: SimulatorThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"},
                      timeout=10) as c:
        yield c


def fim(client: httpx.Client, prompt: str, suffix: str | None = None, **extra: Any) -> dict:
    r = client.post(FIM, json={"model": V4, "prompt": prompt, "suffix": suffix, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def chat_body(question: str, **extra: Any) -> dict[str, Any]:
    return {"model": V4, "messages": [{"role": "user", "content": question}], **extra}


def sse_events(lines: list[str]) -> list[Any]:
    """Parsed `data:` payloads of an SSE stream ("[DONE]" kept as a string)."""
    out: list[Any] = []
    for line in lines:
        if line.startswith("data: "):
            payload = line[6:]
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def stream_lines(client: httpx.Client, path: str, body: dict[str, Any]) -> list[str]:
    with client.stream("POST", path, json={**body, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return list(r.iter_lines())


def assert_usage(usage: dict[str, Any]) -> None:
    assert usage["prompt_tokens"] == (usage["prompt_cache_hit_tokens"]
                                      + usage["prompt_cache_miss_tokens"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": usage["prompt_cache_hit_tokens"]}


# --- models, balance, auth ------------------------------------------------------------------------


def test_models_per_generation_and_old_names_rejected_in_v4(sim, client) -> None:
    ids = [m["id"] for m in client.get("/models").json()["data"]]
    assert ids == ["deepseek-v4-flash", "deepseek-v4-pro"]
    assert client.get("/models").json()["data"][0] == {
        "id": "deepseek-v4-flash", "object": "model", "owned_by": "deepseek"}
    for old in ("deepseek-chat", "deepseek-reasoner", "gpt-4"):
        r = client.post(CHAT, json={**chat_body("hi"), "model": old})
        assert r.status_code == 400
        assert r.json() == {"error": {"message": "Model Not Exist",
                                      "type": "invalid_request_error", "param": None,
                                      "code": "invalid_request_error"}}
    assert client.post(FIM, json={"model": "deepseek-chat", "prompt": "x"}).status_code == 400

    sim.configure(generation="legacy")
    assert client.get("/models").json() == {"object": "list", "data": [
        {"id": "deepseek-chat", "object": "model", "owned_by": "deepseek"},
        {"id": "deepseek-reasoner", "object": "model", "owned_by": "deepseek"}]}
    assert client.post(FIM, json={"model": "deepseek-chat", "prompt": "x"}).status_code == 200
    r = client.post(FIM, json={"model": "deepseek-reasoner", "prompt": "x"})
    assert r.status_code == 400 and "Model Not Exist" not in r.text
    assert client.post(CHAT, json={**chat_body("hi"), "model": V4}).status_code == 400


def test_balance_default_configured_and_exhausted(sim, client) -> None:
    sim.configure(balance=[{"currency": "USD", "total_balance": "0.00",
                            "granted_balance": "0.00", "topped_up_balance": "0.00"}])
    data = client.get("/user/balance").json()
    assert data == {"is_available": False, "balance_infos": [
        {"currency": "USD", "total_balance": "0.00", "granted_balance": "0.00",
         "topped_up_balance": "0.00"}]}
    r = client.post(CHAT, json=chat_body("hi"))
    assert r.status_code == 402 and r.json()["error"]["message"] == "Insufficient Balance"
    with SimulatorThread() as fresh:
        infos = httpx.get(fresh.base_url + "/user/balance",
                          headers={"Authorization": "Bearer x"}).json()
    assert infos["is_available"] is True
    assert [i["currency"] for i in infos["balance_infos"]] == ["CNY", "USD"]
    assert infos["balance_infos"][0]["total_balance"] == "110.00"


def test_auth(sim, client) -> None:
    base = sim.base_url
    assert httpx.get(base + "/models").status_code == 401
    assert httpx.get(base + "/models", headers={"Authorization": "Bearer"}).status_code == 401
    assert httpx.get(base + "/models", headers={"Authorization": "Basic abc"}).status_code == 401
    assert httpx.get(base + "/models", headers={"Authorization": "Bearer anything"}).is_success
    sim.configure(api_key=KEY)
    r = httpx.get(base + "/models", headers={"Authorization": "Bearer sk-wrong-key-9876"})
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["type"] == "authentication_error"
    assert err["message"] == "Authentication Fails, Your api key: ****9876 is invalid"
    assert client.get("/models").status_code == 200
    for rec in sim.requests():
        assert KEY not in json.dumps(rec.headers) and KEY not in rec.raw
    assert sim.requests()[-1].headers["Authorization"] == "Bearer ***"
    assert sim.requests()[-1].headers["authorization"] == "Bearer ***"
    assert sim.requests()[-1].key_sha256 == hashlib.sha256(KEY.encode()).hexdigest()
    # Scripted failures answer before the key check; scripted answers still need the key.
    sim.script(Rule(path="/models", status=503, times=1), Rule(path="/models", text="x"))
    assert httpx.get(base + "/models", headers={"Authorization": "Bearer bad-key"}).status_code \
        == 503
    assert httpx.get(base + "/models", headers={"Authorization": "Bearer bad-key"}).status_code \
        == 401
    sim.configure(api_key="")  # empty means "accept any key", like None
    assert httpx.get(base + "/models", headers={"Authorization": "Bearer z"}).status_code == 200


# --- FIM ------------------------------------------------------------------------------------------


def test_fim_json_shape_and_python_body(client) -> None:
    prompt = "# path: fib.py\ndef fibonacci(n):\n    "
    data = fim(client, prompt, "\n\nprint(fibonacci(10))\n", max_tokens=128)
    assert data["object"] == "text_completion" and data["model"] == V4
    assert set(data) == {"id", "object", "created", "model", "choices", "usage",
                         "system_fingerprint"}
    choice = data["choices"][0]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["logprobs"] is None
    text = choice["text"]
    assert "return" in text and "fibonacci(n - 1)" in text
    compile(prompt + text + "\n\nprint(fibonacci(10))\n", "fib.py", "exec")
    assert_usage(data["usage"])
    assert data["usage"]["completion_tokens"] > 0


def test_fim_default_model_patterns(client) -> None:
    # Seed example: the recursion is already below the cursor, so only the base case comes.
    text = fim(client, "def fib(a):", "    return fib(a-1) + fib(a-2)")["choices"][0]["text"]
    assert text.startswith("\n") and "if a <= 1" in text and "fib(a-1)" not in text
    assert fim(client, "import ", "\n")["choices"][0]["text"].strip() == "os"
    code = fim(client, "# compute the factorial of a number\n", "")["choices"][0]["text"]
    assert code.startswith("def factorial(") and "return" in code
    earlier = "def area(r):\n    return 3.14159 * r * r\n\ndef volume(r):\n    return 3.14"
    assert fim(client, earlier, "\n")["choices"][0]["text"] == "159 * r * r"
    ts = fim(client, "// app.ts\nfunction add(a: number, b: number): number {\n  ", "\n}\n")
    assert ts["choices"][0]["text"].startswith("return a + b;")


def test_fim_typing_through_a_suggestion_keeps_it(client) -> None:
    prompt = "# path: fib.py\ndef fibonacci(n):\n"
    full = fim(client, prompt, "\n")["choices"][0]["text"]
    for k in (1, 6, 15, len(full) // 2, len(full) - 3):
        rest = fim(client, prompt + full[:k], "\n")["choices"][0]["text"]
        assert full[:k] + rest == full
    text = fim(client, "def g(a):\n    value = a * 2\n    x = val", "\n")["choices"][0]["text"]
    assert text == "ue"


def test_fim_repeats_closing_bracket_already_in_suffix(client) -> None:
    text = fim(client, "name = 'x'\nprint(", ")\n")["choices"][0]["text"]
    assert text.endswith(")") and text.count(")") == 1 and len(text) > 1
    text = fim(client, "def add(a, b):\n    return a + b\n\ntotal = add(", ")\n")
    assert text["choices"][0]["text"] == "2, 3)"


def test_fim_stop_and_max_tokens(client) -> None:
    prompt = "def fibonacci(n):\n"
    full = fim(client, prompt, "")["choices"][0]["text"]
    assert "\n" in full.strip()
    stopped = fim(client, prompt, "", stop=["\n"])["choices"][0]
    assert stopped["text"] == full.split("\n", 1)[0] and stopped["finish_reason"] == "stop"
    stopped = fim(client, prompt, "", stop="return")["choices"][0]
    assert "return" not in stopped["text"]
    short = fim(client, prompt, "", max_tokens=3)
    assert short["choices"][0]["finish_reason"] == "length"
    assert short["usage"]["completion_tokens"] == 3 and full.startswith(short["choices"][0]["text"])
    too_many = client.post(FIM, json={"model": V4, "prompt": "x", "stop": ["a"] * 17})
    assert too_many.status_code in (400, 422)
    assert client.post(FIM, json={"model": V4, "prompt": "x", "max_tokens": 5000}).status_code \
        == 400


def test_fim_logprobs_echo_and_limits(client) -> None:
    prompt = "Once upon a time, "
    data = fim(client, prompt, None, logprobs=0)
    lp = data["choices"][0]["logprobs"]
    text = data["choices"][0]["text"]
    assert "".join(lp["tokens"]) == text and lp["top_logprobs"] is None
    assert lp["text_offset"][0] == len(prompt)
    assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["text_offset"])
    assert all(v <= 0 for v in lp["token_logprobs"])
    top = fim(client, prompt, None, logprobs=3)["choices"][0]["logprobs"]["top_logprobs"]
    assert all(len(t) == 3 for t in top)
    echoed = fim(client, prompt, None, echo=True, logprobs=0)["choices"][0]
    assert echoed["text"] == prompt + text
    assert echoed["logprobs"]["text_offset"][0] == 0
    assert echoed["logprobs"]["token_logprobs"][0] is None
    r = client.post(FIM, json={"model": V4, "prompt": prompt, "logprobs": 21})
    assert r.status_code == 400
    streamed = sse_events(stream_lines(client, FIM, {"model": V4, "prompt": prompt,
                                                     "logprobs": 2, "echo": True}))
    texts = [e["choices"][0]["text"] for e in streamed[:-1]]
    assert texts[0] == prompt and "".join(texts) == prompt + text
    json_lp = fim(client, prompt, None, logprobs=2, echo=True)["choices"][0]["logprobs"]
    chunk_lps = [e["choices"][0]["logprobs"] for e in streamed[:-1]]
    stream_lp = [v for lp in chunk_lps if lp for v in lp["token_logprobs"]]
    assert stream_lp == json_lp["token_logprobs"]


def test_fim_stream_matches_json(client) -> None:
    body = {"model": V4, "prompt": "def factorial(n):\n", "suffix": "",
            "stream_options": {"include_usage": True}}
    text = client.post(FIM, json=body).json()["choices"][0]["text"]
    events = sse_events(stream_lines(client, FIM, body))
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "text_completion" for c in chunks)
    pieces = [c["choices"][0]["text"] for c in chunks if c["choices"]]
    assert len(pieces) > 3 and "".join(pieces) == text
    finals = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finals[-1] == "stop" and set(finals[:-1]) == {None}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    without_usage = sse_events(stream_lines(client, FIM, {**body, "stream_options": None}))
    assert all("usage" not in c for c in without_usage[:-1])


# --- chat -----------------------------------------------------------------------------------------


def test_chat_json_thinking_on_by_default_in_v4_and_off_when_disabled(client) -> None:
    data = client.post(CHAT, json=chat_body("What is a closure?")).json()
    assert data["object"] == "chat.completion"
    message = data["choices"][0]["message"]
    assert message["role"] == "assistant" and "closure" in message["content"]
    assert message["reasoning_content"]
    assert data["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    assert_usage(data["usage"])
    off = client.post(CHAT, json=chat_body("What is a closure?",
                                           thinking={"type": "disabled"})).json()
    assert "reasoning_content" not in off["choices"][0]["message"]
    assert "completion_tokens_details" not in off["usage"]
    assert off["choices"][0]["message"]["content"] == message["content"]


def test_chat_legacy_reasoner_and_chat(sim, client) -> None:
    sim.configure(generation="legacy")
    plain = client.post(CHAT, json={**chat_body("hello"), "model": "deepseek-chat"}).json()
    assert "reasoning_content" not in plain["choices"][0]["message"]
    events = sse_events(stream_lines(client, CHAT,
                                     {**chat_body("hello"), "model": "deepseek-reasoner"}))
    deltas = [e["choices"][0]["delta"] for e in events[:-1] if e["choices"]]
    assert deltas[0]["role"] == "assistant"
    reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
    content = "".join(d.get("content") or "" for d in deltas)
    assert reasoning and content
    first_content = next(i for i, d in enumerate(deltas) if d.get("content"))
    assert all(not d.get("reasoning_content") for d in deltas[first_content:])


def test_chat_stream_order_finish_usage_done(client) -> None:
    body = chat_body("Tell me about lists", thinking={"type": "disabled"},
                     stream_options={"include_usage": True})
    json_content = client.post(CHAT, json=body).json()["choices"][0]["message"]["content"]
    events = sse_events(stream_lines(client, CHAT, body))
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = "".join(c["choices"][0]["delta"].get("content") or ""
                      for c in chunks if c["choices"])
    assert content == json_content
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_reasoning_content_sent_back_refused_by_legacy_ignored_by_v4(sim, client) -> None:
    body = {"model": V4, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello", "reasoning_content": "thinking..."},
        {"role": "user", "content": "and?"}]}
    # V4 ignores an earlier turn's reasoning_content (it is needed only for tool-call turns).
    assert client.post(CHAT, json=body).status_code == 200
    sim.configure(generation="legacy")
    r = client.post(CHAT, json={**body, "model": "deepseek-reasoner"})
    assert r.status_code == 400 and "reasoning_content" in r.json()["error"]["message"]


def test_chat_prefix_completion_only_under_beta(client) -> None:
    body = {"model": V4, "thinking": {"type": "disabled"}, "stop": ["```"], "messages": [
        {"role": "user", "content": "Write a hello world program in Python"},
        {"role": "assistant", "content": "```python\n", "prefix": True}]}
    assert client.post(CHAT, json=body).status_code == 400
    r = client.post("/beta/chat/completions", json=body)
    assert r.status_code == 200
    content = r.json()["choices"][0]["message"]["content"]
    assert "print(" in content and "```" not in content


def test_chat_json_mode_tools_and_logprobs(client) -> None:
    system = 'Reply in JSON like {"question": "...", "answer": "..."}'
    body = {"model": V4, "response_format": {"type": "json_object"}, "messages": [
        {"role": "system", "content": system},
        {"role": "user", "content": "Which is the longest river? The Nile."}]}
    content = client.post(CHAT, json=body).json()["choices"][0]["message"]["content"]
    assert set(json.loads(content)) == {"question", "answer"}

    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                       "required": ["location"]}}}]
    data = client.post(CHAT, json=chat_body("Please call get_weather for Hangzhou",
                                            tools=tools)).json()
    choice = data["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"location": "Hangzhou"}

    lp = client.post(CHAT, json=chat_body("hi", logprobs=True, top_logprobs=2)).json()
    entries = lp["choices"][0]["logprobs"]["content"]
    assert "".join(e["token"] for e in entries) == lp["choices"][0]["message"]["content"]
    assert all(len(e["top_logprobs"]) == 2 for e in entries)
    assert client.post(CHAT, json=chat_body("hi", top_logprobs=2)).status_code == 400


def test_chat_code_action_answer_has_one_edited_block(client) -> None:
    code = "def add(a, b):\n    return a + b"
    question = f"Document this code:\n```python\n{code}\n```"
    content = client.post(CHAT, json=chat_body(question)).json()["choices"][0]["message"][
        "content"]
    blocks = re.findall(r"```(\w*)\n(.*?)```", content, re.DOTALL)
    assert len(blocks) == 1 and blocks[0][0] == "python"
    edited = blocks[0][1]
    assert '"""' in edited and "return a + b" in edited
    compile(edited, "x.py", "exec")
    tests = client.post(CHAT, json=chat_body(f"Write tests for\n```python\n{code}\n```")).json()
    assert "assert add(2, 3) == 5" in tests["choices"][0]["message"]["content"]
    broken = "def greet(name)\n    return 'hi ' + name"
    fixed = client.post(CHAT, json=chat_body(f"Fix this:\n```python\n{broken}\n```")).json()
    block = re.findall(r"```python\n(.*?)```", fixed["choices"][0]["message"]["content"],
                       re.DOTALL)
    assert len(block) == 1
    compile(block[0], "x.py", "exec")
    # A misspelled name reported by the editor is corrected from names in the context.
    question = ("The editor reports at line 1: Undefined name `fibonaci`. Fix the problem.\n\n"
                "````python\nprint(fibonaci(10))\n````\n\nThe code before it:\n\n"
                "```python\ndef fibonacci(n):\n    return n\n```")
    fixed = client.post(CHAT, json=chat_body(question)).json()["choices"][0]["message"]
    assert re.findall(r"```python\n(.*?)```", fixed["content"], re.DOTALL) == [
        "print(fibonacci(10))\n"]


def test_chat_max_tokens_and_stop(client) -> None:
    data = client.post(CHAT, json=chat_body("hello", max_tokens=4,
                                            thinking={"type": "disabled"})).json()
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 4
    data = client.post(CHAT, json=chat_body("hello", stop=["\n"],
                                            thinking={"type": "disabled"})).json()
    assert "\n" not in data["choices"][0]["message"]["content"]
    assert data["choices"][0]["finish_reason"] == "stop"


def test_unknown_paths_and_methods_are_recorded(sim, client) -> None:
    assert client.post("/v1/beta/completions", json={"model": V4, "prompt": "x"}).status_code \
        == 404
    assert client.get(CHAT).status_code == 405
    assert [(r.method, r.path, r.status) for r in sim.requests()] == [
        ("POST", "/v1/beta/completions", 404), ("GET", CHAT, 405)]
    assert client.post("/v1/chat/completions", json=chat_body("hi")).status_code == 200


def test_bad_bodies(client) -> None:
    r = client.post(CHAT, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert client.post(CHAT, json={"messages": []}).status_code == 422
    assert client.post(FIM, json={"model": V4}).status_code == 422
    assert client.post(CHAT, json=chat_body("x", temperature=3)).status_code == 400


# --- scripted faults ------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "message"), [
    (400, "Invalid request"), (401, "Authentication Fails"), (402, "Insufficient Balance"),
    (422, "Invalid parameters"), (429, "Rate Limit Reached"), (500, "Internal Server Error"),
    (503, "Server overloaded"),
])
def test_error_statuses(sim, client, status: int, message: str) -> None:
    sim.script(Rule(path=FIM, status=status, times=1))
    r = client.post(FIM, json={"model": V4, "prompt": "x"})
    assert r.status_code == status
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"].startswith(message)
    assert client.post(FIM, json={"model": V4, "prompt": "x"}).status_code == 200  # times=1


def test_retry_after_custom_message_and_match(sim, client) -> None:
    sim.script(Rule(path=FIM, match="SLOWDOWN", status=429, retry_after=2.0,
                    error_message="Rate Limit Reached: slow down"))
    assert client.post(FIM, json={"model": V4, "prompt": "fine"}).status_code == 200
    r = client.post(FIM, json={"model": V4, "prompt": "a", "suffix": "SLOWDOWN"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert r.json()["error"]["message"] == "Rate Limit Reached: slow down"
    sim.script(Rule(path=CHAT, match="canned", text="Canned **answer**."))
    data = client.post(CHAT, json=chat_body("a canned question")).json()
    assert data["choices"][0]["message"]["content"] == "Canned **answer**."
    assert [r.status for r in sim.requests(FIM)] == [200, 429]


def test_keepalives_then_valid_body(sim, client) -> None:
    sim.script(Rule(path=FIM, stall_s=0.25, keepalive_s=0.05, text="return a + b", times=1))
    r = client.post(FIM, json={"model": V4, "prompt": "def add(a, b):\n    "})
    assert r.status_code == 200
    assert r.content.startswith(b"\n\n") and r.content.count(b"\n") >= 3
    assert json.loads(r.content)["choices"][0]["text"] == "return a + b"

    sim.script(Rule(path=CHAT, stall_s=0.25, keepalive_s=0.05, times=1))
    lines = stream_lines(client, CHAT, chat_body("hi"))
    assert lines.count(": keep-alive") >= 3
    assert lines.index(": keep-alive") < next(i for i, x in enumerate(lines)
                                              if x.startswith("data:"))
    assert sse_events(lines)[-1] == "[DONE]"


def test_drop_mid_stream_and_before_json_body(sim, client) -> None:
    sim.script(Rule(path=CHAT, drop_after_chunks=3, times=1))
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError), \
            client.stream("POST", CHAT, json={**chat_body("hi"), "stream": True}) as r:
        received.extend(line for line in r.iter_lines() if line.startswith("data:"))
    assert len(received) == 3
    sim.script(Rule(path=FIM, drop_after_chunks=0, times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(FIM, json={"model": V4, "prompt": "x"})
    assert sim.requests(FIM)[-1].status is None
    assert client.post(FIM, json={"model": V4, "prompt": "x"}).status_code == 200


def test_truncate_and_empty_choices(sim, client) -> None:
    sim.script(Rule(path=CHAT, truncate=True, times=2))
    events = sse_events(stream_lines(client, CHAT, chat_body("hi")))
    assert events and "[DONE]" not in events
    assert all(e["choices"][0]["finish_reason"] is None for e in events)
    r = client.post(CHAT, json=chat_body("hi"))
    with pytest.raises(ValueError):
        json.loads(r.content)

    sim.script(Rule(path=FIM, empty_choices=True, times=2))
    assert fim(client, "x")["choices"] == []
    events = sse_events(stream_lines(client, FIM, {"model": V4, "prompt": "x"}))
    assert events[0]["choices"] == [] and events[-1] == "[DONE]"


def test_raw_html_body(sim, client) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    sim.script(Rule(status=502, body=html, times=1))
    r = client.post(FIM, json={"model": V4, "prompt": "x"})
    assert r.status_code == 502 and r.text == html
    assert r.headers["content-type"].startswith("text/html")
    sim.script(Rule(path="/models", body='{"object": "list", "data": [', times=1))
    r = client.get("/models")
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()


def test_timing_ttft_and_token_rate(sim, client) -> None:
    sim.configure(ttft_ms=150, tokens_per_s=200)
    start = time.monotonic()
    with client.stream("POST", FIM, json={"model": V4, "prompt": "def fibonacci(n):\n",
                                          "stream": True}) as r:
        first = None
        count = 0
        for line in r.iter_lines():
            if line.startswith("data: {"):
                first = first or time.monotonic() - start
                count += 1
    total = time.monotonic() - start
    assert first is not None and first >= 0.14
    assert total >= 0.14 + (count - 2) / 200 * 0.8


# --- prefix cache ---------------------------------------------------------------------------------


def test_prefix_cache_whole_units_growing_and_lost_by_first_byte(sim, client) -> None:
    base = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(60))
    first = fim(client, base + "# a")["usage"]
    assert first["prompt_cache_hit_tokens"] == 0
    second = fim(client, base + "# b")["usage"]
    hit = second["prompt_cache_hit_tokens"]
    assert hit > 0 and hit % 64 == 0 and second["prompt_tokens"] - hit < 64 + 10
    third = fim(client, base + base[:800] + "# c")["usage"]
    fourth = fim(client, base + base[:800] + "# d")["usage"]
    assert fourth["prompt_cache_hit_tokens"] > third["prompt_cache_hit_tokens"] - 64
    assert fourth["prompt_cache_hit_tokens"] > hit
    changed = fim(client, "X" + base[1:] + "# e")["usage"]
    assert changed["prompt_cache_hit_tokens"] == 0
    # The suffix is never a hit.
    with_suffix = fim(client, base + "# b", "\n" + base)["usage"]
    assert with_suffix["prompt_cache_hit_tokens"] <= second["prompt_tokens"]
    stats = sim.cache_stats()
    assert stats["requests"] == 6
    assert stats["hit_tokens"] + stats["miss_tokens"] == stats["prompt_tokens"]

    sim.configure(cache_unit=128)
    fim(client, base + "# z")
    assert fim(client, base + "# y")["usage"]["prompt_cache_hit_tokens"] % 128 == 0


def test_prefix_cache_for_a_growing_conversation(client) -> None:
    history = [{"role": "system", "content": "You are a careful reviewer. " * 40},
               {"role": "user", "content": "First question about the code?"}]
    body = {"model": V4, "thinking": {"type": "disabled"}, "messages": history}
    one = client.post(CHAT, json=body).json()
    history += [{"role": "assistant", "content": one["choices"][0]["message"]["content"]},
                {"role": "user", "content": "And a second one?"}]
    two = client.post(CHAT, json=body).json()["usage"]
    assert two["prompt_cache_hit_tokens"] >= 64
    assert two["prompt_cache_hit_tokens"] <= one["usage"]["prompt_tokens"]


def test_prefix_store_is_fast_and_bounded() -> None:
    store = PrefixStore(max_prompts=512)
    text = "".join(f"line {i} = value_{i * 7}\n" for i in range(400))
    start = time.perf_counter()
    for i in range(2000):
        cut = (i * 37) % 3000
        prompt = text[cut:cut + 6000] + f"# {i}"
        assert store.longest_shared_prefix(prompt) >= 0
        store.add(prompt)
    assert time.perf_counter() - start < 1.0
    assert len(store._order) == 512
    state = SimulatorState(cache_unit=64)
    state.account_prompt(("fim", V4), text)
    again = state.account_prompt(("fim", V4), text)
    assert again.hit_tokens == again.prompt_tokens // 64 * 64


# --- disconnects, control endpoints, serve --------------------------------------------------------


async def test_disconnect_detected_when_client_cancels_a_stalled_request(sim) -> None:
    sim.script(Rule(path=FIM, stall_s=5.0, keepalive_s=0.2))
    sim.script(Rule(path=CHAT, stall_s=5.0))
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=10,
                                 headers={"Authorization": "Bearer k"}) as c:
        task = asyncio.create_task(c.post(FIM, json={"model": V4, "prompt": "x"}))
        stream_task = asyncio.create_task(c.post(CHAT, json={**chat_body("x"), "stream": True}))
        assert await sim.wait_for_async(lambda reqs: len(reqs) == 2, 5.0)  # both stalled
        cancelled_at = time.monotonic()
        task.cancel()
        stream_task.cancel()
        for t in (task, stream_task):
            with contextlib.suppress(asyncio.CancelledError):
                await t

    def both_gone(reqs: list[RecordedRequest]) -> bool:
        return len(reqs) == 2 and all(r.disconnected and r.finished for r in reqs)

    assert await sim.wait_for_async(both_gone, 2.0)
    for rec in sim.requests():
        assert rec.finished is not None and rec.finished - cancelled_at < 1.0
    assert sim.requests(CHAT)[0].stream is True


def test_control_endpoints(sim) -> None:
    base = sim.base_url
    rules = [{"path": FIM, "text": "from control", "times": 1},
             {"path": "/models", "status": 503, "times": 1}]
    assert httpx.post(base + "/_sim/rules", json=rules).json()["added"] == 2
    assert httpx.post(base + "/_sim/rules", json=[{"nope": 1}]).status_code == 400
    auth = {"Authorization": "Bearer k"}
    r = httpx.post(base + FIM, json={"model": V4, "prompt": "x"}, headers=auth)
    assert r.json()["choices"][0]["text"] == "from control"
    assert httpx.get(base + "/models", headers=auth).status_code == 503
    recorded = httpx.get(base + "/_sim/requests").json()
    assert [r["path"] for r in recorded] == [FIM, "/models"]
    assert recorded[0]["json"]["prompt"] == "x" and recorded[0]["headers"]["authorization"] \
        == "Bearer ***"
    assert httpx.get(base + "/_sim/requests", params={"path": FIM}).json()[0]["status"] == 200
    assert httpx.get(base + "/_sim/stats").json()["requests"] == 1
    r = httpx.post(base + "/_sim/config", json={"generation": "legacy", "api_key": "sk-abc"})
    assert r.json()["config"]["api_key"] == "***"
    assert httpx.get(base + "/models", headers=auth).status_code == 401
    assert httpx.post(base + "/_sim/config", json={"bogus": 1}).status_code == 400
    assert httpx.post(base + "/_sim/reset").json() == {"ok": True}
    assert httpx.get(base + "/_sim/requests").json() == []


def test_thread_api_requests_wait_for_and_configure_errors(sim, client) -> None:
    assert sim.base_url.startswith("http://127.0.0.1:") and not sim.base_url.endswith("/")
    client.get("/models")
    fim(client, "a")
    assert [r.path for r in sim.requests()] == ["/models", FIM]
    rec = sim.requests(FIM)[0]
    assert rec.method == "POST" and rec.json["prompt"] == "a" and rec.status == 200
    assert rec.started <= (rec.finished or 0) and not rec.disconnected and not rec.stream
    assert sim.wait_for(lambda reqs: len(reqs) == 2, timeout=0.5)
    assert not sim.wait_for(lambda reqs: len(reqs) == 3, timeout=0.05)
    with pytest.raises(TypeError):
        sim.configure(colour="blue")
    with pytest.raises(ValueError):
        sim.configure(generation="v9")


def test_stop_does_not_wait_for_stalled_requests() -> None:
    sim = SimulatorThread().start()
    sim.script(Rule(stall_s=30))
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": "Bearer k"}) as c:
        t = threading.Thread(target=_quietly, args=(c.get, "/models"), daemon=True)
        t.start()
        assert sim.wait_for(lambda reqs: len(reqs) == 1, timeout=2)
        start = time.monotonic()
        sim.stop()
        assert time.monotonic() - start < 3
        t.join(3)
    sim.stop()  # twice is fine


def _quietly(fn: Any, *args: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):
        fn(*args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_serve_announces_and_answers(capsys) -> None:
    port = _free_port()
    task = asyncio.create_task(serve("127.0.0.1", port, generation="legacy"))
    try:
        for _ in range(100):
            await asyncio.sleep(0.02)
            if "listening" in capsys.readouterr().out:
                break
        async with httpx.AsyncClient(headers={"Authorization": "Bearer k"}) as c:
            r = await c.get(f"http://127.0.0.1:{port}/models")
        assert r.json()["data"][0]["id"] == "deepseek-chat"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_fake_served_in_the_callers_event_loop() -> None:
    """`FakeDeepSeek` without the thread: `start_site` serves its app in the caller's loop (as
    `deepseek-lsp fake-api` does); the scripted rule answers, and `reset` forgets it all."""
    fake = FakeDeepSeek(generation="legacy", cache_unit=128)
    fake.script(Rule(text="x"))
    assert fake.state.config.models == ("deepseek-chat", "deepseek-reasoner")
    runner, port = await start_site(fake, "127.0.0.1", 0)
    try:
        body = {"model": "deepseek-chat", "prompt": "a = "}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers={"Authorization": "Bearer k"}) as c:
            r = await c.post(FIM, json=body)
            assert r.status_code == 200 and r.json()["choices"][0]["text"] == "x"
            assert [q.path for q in fake.requests()] == [FIM]
            assert fake.cache_stats()["requests"] == 1
            fake.reset()
            assert fake.requests() == [] and fake.cache_stats()["requests"] == 0
            assert (await c.post(FIM, json=body)).json()["choices"][0]["text"] != "x"
    finally:
        await runner.cleanup()
