"""The simulator's DeepSeek API features that issue 13 puts to use, over loopback HTTP (httpx).

Chat prefix completion (beta only; code-only continuations that a `stop` of "```" cuts), JSON
output (the word "json" required; test files as `{"path", "content"}`; scripted empty content),
tool calls (DeepSeek's validation, ids and stream shape; answers that use the tool's result),
FIM logprobs that carry confidence, and `max_tokens` cuts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deepseek_lsp.chat import actions, prompts
from deepseek_lsp.simulator import Guess, Rule, SimulatorThread
from deepseek_lsp.simulator.fim_model import fim_completion

FIM = "/beta/completions"
CHAT = "/chat/completions"
BETA_CHAT = "/beta/chat/completions"
V4 = "deepseek-v4-flash"
NO_THINKING = {"type": "disabled"}

SCALING_USER = ("from scaling import scale\n\n\n"
                "def double_all(values):\n    return [scale(v, 2) for v in values]\n")
DEFINITION = ("scaling.py, line 1:\n```python\ndef scale(value, factor):\n"
              "    return value * factor\n```")
FIND_DEFINITION = {"type": "function", "function": {
    "name": "find_definition", "description": "The definition of a symbol in the workspace.",
    "parameters": {"type": "object", "properties": {"name": {"type": "string"}},
                   "required": ["name"]}}}
READ_LINES = {"type": "function", "function": {
    "name": "read_lines", "description": "Read a line range of an open document.",
    "parameters": {"type": "object", "properties": {
        "path": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"}},
        "required": ["path", "start", "end"]}}}
TOOLS = [FIND_DEFINITION, READ_LINES]


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as sim:
        yield sim


@pytest.fixture
def sim(shared_sim: SimulatorThread) -> SimulatorThread:
    shared_sim.reset()
    shared_sim.configure(generation="v4", api_key=None, ttft_ms=0, tokens_per_s=0)
    shared_sim.fake.fim_model = fim_completion
    return shared_sim


@pytest.fixture
def client(sim: SimulatorThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": "Bearer sk-test"},
                      timeout=10) as c:
        yield c


def post(client: httpx.Client, path: str, body: dict[str, Any], status: int = 200) -> Any:
    r = client.post(path, json=body)
    assert r.status_code == status, r.text
    return r.json()


def stream_chunks(client: httpx.Client, path: str, body: dict[str, Any]) -> list[Any]:
    """The parsed `data:` events of a stream; "[DONE]" kept as a string."""
    with client.stream("POST", path, json={**body, "stream": True,
                                           "stream_options": {"include_usage": True}}) as r:
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    return [line[6:] if line == "data: [DONE]" else json.loads(line[6:]) for line in lines]


def deepseek_error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None,
                      "code": "invalid_request_error"}}


def excerpt(text: str, path: str, language_id: str = "python") -> prompts.Excerpt:
    return prompts.excerpt_of(text, 0, len(text), path=path, language_id=language_id)


# --- chat prefix completion -----------------------------------------------------------------------

SCALE = ("def scale(value, factor):\n    if value == None:\n        return 0\n"
         "    return value * factor\n")


def _edit_body(kind: str, **extra: Any) -> dict[str, Any]:
    messages = actions.action_messages(kind, excerpt(SCALE, "pkg/scaling.py"))
    return {"model": V4, "thinking": NO_THINKING, "messages": messages, **extra}


def _with_prefix(body: dict[str, Any]) -> dict[str, Any]:
    prefix = {"role": "assistant", "content": "```python\n", "prefix": True}
    return {**body, "messages": [*body["messages"], prefix], "stop": ["```"]}


def test_prefix_outside_beta_gets_deepseeks_400(client) -> None:
    body = _with_prefix(_edit_body("refactor"))
    r = client.post(CHAT, json=body)
    assert r.status_code == 400
    assert r.json() == deepseek_error('prefix is only available when using beta api '
                                      '(set base_url="https://api.deepseek.com/beta")')
    assert client.post("/v1/chat/completions", json=body).status_code == 400
    assert client.post(BETA_CHAT, json=body).status_code == 200


@pytest.mark.parametrize("kind", ["refactor", "document", "fix"])
def test_prefix_edit_answer_is_the_code_only_and_shorter(sim, client, kind: str) -> None:
    plain = post(client, CHAT, _edit_body(kind))
    blocks = re.findall(r"```python\n(.*?)```", plain["choices"][0]["message"]["content"],
                        re.DOTALL)
    assert len(blocks) == 1 and blocks[0] != SCALE  # the plain answer: prose + block + notes

    body = _with_prefix(_edit_body(kind))
    data = post(client, BETA_CHAT, body)
    choice = data["choices"][0]
    assert choice["message"]["content"] == blocks[0]  # the same edit, without prose or fence
    assert choice["finish_reason"] == "stop"
    compile(choice["message"]["content"], "scaling.py", "exec")
    assert data["usage"]["completion_tokens"] < plain["usage"]["completion_tokens"] * 0.6
    assert sim.requests(BETA_CHAT)[-1].response_text == blocks[0]

    chunks = stream_chunks(client, BETA_CHAT, body)
    assert chunks[-1] == "[DONE]" and chunks[-2]["choices"] == []
    pieces = [c["choices"][0]["delta"].get("content") or "" for c in chunks[:-2]]
    assert "".join(pieces) == blocks[0] and not any("`" in p for p in pieces)
    assert chunks[-3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-2]["usage"]["completion_tokens"] == data["usage"]["completion_tokens"]

    # Without the stop string the model goes on past the closing fence, as DeepSeek does.
    unstopped = post(client, BETA_CHAT, {**body, "stop": None})["choices"][0]["message"]
    assert unstopped["content"].startswith(blocks[0] + "```\n\n- ")


def test_the_task_not_the_code_decides_the_edit(client) -> None:
    # Code that talks of errors and bugs is still documented, not "fixed".
    code = ('def parse(text):\n    if not text:\n        raise ValueError("broken input: a bug '
            'or an error upstream")\n    return text.split()\n')
    messages = actions.action_messages("document", excerpt(code, "parse.py"))
    prefix = {"role": "assistant", "content": "```python\n", "prefix": True}
    content = post(client, BETA_CHAT, {"model": V4, "thinking": NO_THINKING, "stop": ["```"],
                                       "messages": [*messages, prefix]})["choices"][0][
        "message"]["content"]
    assert content.startswith('def parse(text):\n    """') and "Fixed" not in content


def test_prefix_continues_what_the_prefix_already_holds(client) -> None:
    body = _edit_body("refactor")
    body["messages"].append({"role": "assistant", "content": "```python\ndef scale(",
                             "prefix": True})
    content = post(client, BETA_CHAT, {**body, "stop": ["```"]})["choices"][0]["message"][
        "content"]
    assert content.startswith("value, factor):\n") and "is None" in content


# --- JSON output ----------------------------------------------------------------------------------

TEST_EXAMPLE = ('Answer in JSON, exactly like this example: {"path": "<test file path relative '
                'to the workspace root>", "content": "<the whole test file>"}')


def _tests_body(code: str, path: str, language_id: str = "python", extra: str = "",
                **fields: Any) -> dict[str, Any]:
    user = actions.action_prompt("tests", excerpt(code, path, language_id)) + extra
    return {"model": V4, "thinking": NO_THINKING, "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": TEST_EXAMPLE},
                         {"role": "user", "content": user}], **fields}


def test_json_output_needs_the_word_json_in_a_system_or_user_message(client) -> None:
    body = {"model": V4, "response_format": {"type": "json_object"}, "messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Name a river."},
        {"role": "assistant", "content": "json"},
        {"role": "user", "content": "And its length?"}]}
    r = client.post(CHAT, json=body)
    assert r.status_code == 400
    assert r.json() == deepseek_error("Prompt must contain the word 'json' in some form to use "
                                      "'response_format' of type 'json_object'.")
    body["messages"][0]["content"] = 'Answer as a JSON object like {"answer": "..."}.'
    answer = post(client, CHAT, body)["choices"][0]["message"]["content"]
    assert set(json.loads(answer)) == {"answer"}
    schema = {**body, "response_format": {"type": "json_schema", "json_schema": {}}}
    assert client.post(CHAT, json=schema).json() == deepseek_error(
        "This response_format type is unavailable now")
    plain = {**body, "response_format": {"type": "text"}}
    plain["messages"][0]["content"] = "Answer briefly."
    assert client.post(CHAT, json=plain).status_code == 200


def test_json_write_tests_answers_a_path_and_a_whole_test_file(sim, client) -> None:
    code = ("def add(a, b):\n    return a + b\n\n\n"
            "def scale(value, factor):\n    return value * factor\n")
    data = post(client, CHAT, _tests_body(code, "shop/maths.py"))
    content = data["choices"][0]["message"]["content"]
    answer = json.loads(content)
    assert set(answer) == {"path", "content"}
    assert answer["path"] == "tests/test_maths.py"
    test_file = answer["content"]
    assert test_file.startswith("from shop.maths import add, scale\n")
    assert "def test_add():\n    assert add(2, 3) == 5" in test_file
    assert "def test_scale():" in test_file
    assert test_file.endswith("\n")
    compile(test_file, "test_maths.py", "exec")
    assert sim.requests(CHAT)[-1].response_text == content

    streamed = stream_chunks(client, CHAT, _tests_body(code, "shop/maths.py"))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in streamed[:-2])
    assert json.loads(text) == answer


def test_json_write_tests_follows_the_projects_existing_tests(client) -> None:
    code = "def add(a, b):\n    return a + b\n"
    shown = ("\n\nThe project's tests include `tests/unit/test_money.py`:\n\n```python\n"
             "import unittest\n\n\nclass TestMoney(unittest.TestCase):\n    def test_zero(self):"
             "\n        self.assertEqual(0, 0)\n```")
    answer = json.loads(post(client, CHAT, _tests_body(code, "maths.py", extra=shown))[
        "choices"][0]["message"]["content"])
    assert answer["path"] == "tests/unit/test_maths.py"
    assert "class TestMaths(unittest.TestCase):" in answer["content"]
    assert "self.assertEqual(add(2, 3), 5)" in answer["content"]
    compile(answer["content"], "t.py", "exec")

    ts = "export function add(a: number, b: number): number {\n  return a + b;\n}\n"
    jest = "\n\nExisting tests: `src/__tests__/money.spec.ts` (they use `jest.fn()`)."
    answer = json.loads(post(client, CHAT, _tests_body(ts, "src/cart.ts", "typescript",
                                                       extra=jest))["choices"][0]["message"][
        "content"])
    assert answer["path"] == "src/__tests__/cart.spec.ts"
    assert 'import { add } from "../cart";' in answer["content"]
    assert "vitest" not in answer["content"] and "expect(add(2, 3)).toBe(5);" in answer["content"]
    answer = json.loads(post(client, CHAT, _tests_body(ts, "src/cart.ts", "typescript"))[
        "choices"][0]["message"]["content"])
    assert answer["path"] == "src/cart.test.ts"
    assert 'from "vitest"' in answer["content"] and 'from "./cart"' in answer["content"]


def test_json_empty_content_can_be_scripted_for_json_requests_only(sim, client) -> None:
    sim.script(Rule(path=CHAT, json_empty=True, times=1))
    plain = post(client, CHAT, {"model": V4, "messages": [{"role": "user", "content": "hi"}]})
    assert plain["choices"][0]["message"]["content"]  # not JSON mode: the rule waits
    body = _tests_body("def add(a, b):\n    return a + b\n", "maths.py")
    empty = post(client, CHAT, body)["choices"][0]
    assert empty["message"]["content"] == "" and empty["finish_reason"] == "stop"
    again = post(client, CHAT, body)["choices"][0]["message"]["content"]
    assert json.loads(again)["path"] == "tests/test_maths.py"
    # The same rule from another process, through the control endpoint.
    assert httpx.post(sim.base_url + "/_sim/rules",
                      json=[{"path": CHAT, "json_empty": True, "times": 1}]).status_code == 200
    chunks = stream_chunks(client, CHAT, body)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-2]) == ""


# --- tool calls -----------------------------------------------------------------------------------

GENERATIONS = [("legacy", "deepseek-chat", None), ("v4", V4, NO_THINKING),
               ("v4", V4, {"type": "enabled"})]


def _question_body(model: str, thinking: dict[str, str] | None, question: str = "",
                   code: str = SCALING_USER, **extra: Any) -> dict[str, Any]:
    start = code.index("def ")
    ex = prompts.excerpt_of(code, start, len(code), path="app.py", language_id="python")
    user = prompts.question_prompt(question or "What does this return for an empty list?", ex)
    body = {"model": model, "messages": [prompts.system_message(), prompts.user_message(user)],
            "tools": TOOLS, **extra}
    if thinking is not None:
        body["thinking"] = thinking
    return body


def _answer_call(body: dict[str, Any], message: dict[str, Any], result: str) -> dict[str, Any]:
    """The next request: the assistant's tool calls (with its reasoning) and the tool's result."""
    assistant = {"role": "assistant", "content": message["content"],
                 "tool_calls": message["tool_calls"]}
    if "reasoning_content" in message:
        assistant["reasoning_content"] = message["reasoning_content"]
    tool = {"role": "tool", "tool_call_id": message["tool_calls"][0]["id"], "content": result}
    return {**body, "messages": [*body["messages"], assistant, tool]}


@pytest.mark.parametrize(("generation", "model", "thinking"), GENERATIONS)
def test_first_round_calls_find_definition_plain_and_streamed(
        sim, client, generation: str, model: str, thinking: dict[str, str] | None) -> None:
    sim.configure(generation=generation)
    body = _question_body(model, thinking)
    data = post(client, CHAT, body)
    choice = data["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] == ""
    (call,) = choice["message"]["tool_calls"]
    assert set(call) == {"id", "type", "function"} and call["type"] == "function"
    assert re.fullmatch(r"call_00_[A-Za-z0-9]{24}", call["id"])
    assert call["function"]["name"] == "find_definition"
    assert json.loads(call["function"]["arguments"]) == {"name": "scale"}
    thinks = thinking != NO_THINKING and generation == "v4"
    assert ("reasoning_content" in choice["message"]) is thinks
    assert sim.requests(CHAT)[-1].tool_calls == [call]
    assert sim.requests(CHAT)[-1].finish_reason == "tool_calls"

    chunks = stream_chunks(client, CHAT, body)
    assert chunks[-1] == "[DONE]"
    assert chunks[-2]["choices"] == []
    assert chunks[-2]["usage"]["completion_tokens"] == data["usage"]["completion_tokens"]
    final = chunks[-3]["choices"][0]
    assert final["finish_reason"] == "tool_calls" and not final["delta"].get("tool_calls")
    deltas = [c["choices"][0]["delta"] for c in chunks[:-3]]
    assert deltas[0]["role"] == "assistant"
    tool_deltas = [d for d in deltas if "tool_calls" in d]
    first_tool = deltas.index(tool_deltas[0])
    if thinks:  # the thinking streams first, then the call
        assert "".join(d.get("reasoning_content") or "" for d in deltas[:first_tool]) == \
            choice["message"]["reasoning_content"]
    assert all(set(d) == {"tool_calls"} for d in tool_deltas)
    assert tool_deltas[0]["tool_calls"] == [{"index": 0, "id": call["id"], "type": "function",
                                             "function": {"name": "find_definition",
                                                          "arguments": ""}}]
    pieces = [d["tool_calls"][0] for d in tool_deltas[1:]]
    assert len(pieces) > 2 and all(p.keys() == {"index", "function"} and p["index"] == 0
                                   and p["function"].keys() == {"arguments"} for p in pieces)
    assert "".join(p["function"]["arguments"] for p in pieces) == call["function"]["arguments"]
    assert all(not d.get("content") for d in deltas)


@pytest.mark.parametrize(("generation", "model", "thinking"), GENERATIONS)
def test_second_round_answers_in_prose_with_the_definition(
        sim, client, generation: str, model: str, thinking: dict[str, str] | None) -> None:
    sim.configure(generation=generation)
    body = _question_body(model, thinking)
    first = post(client, CHAT, body)["choices"][0]["message"]
    nxt = _answer_call(body, first, DEFINITION)
    data = post(client, CHAT, nxt)
    choice = data["choices"][0]
    assert choice["finish_reason"] == "stop" and "tool_calls" not in choice["message"]
    content = choice["message"]["content"]
    assert "I looked up `scale` in `scaling.py`" in content
    assert "def scale(value, factor):\n    return value * factor" in content
    assert "`double_all`" in content  # and it still answers the question
    streamed = stream_chunks(client, CHAT, nxt)
    assert "".join(c["choices"][0]["delta"].get("content") or ""
                   for c in streamed[:-2]) == content

    missing = post(client, CHAT, _answer_call(body, first, "No definition of `scale` found."))
    choice = missing["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "could not find the definition of `scale`" in choice["message"]["content"]


def test_tool_messages_are_validated_like_deepseek(client) -> None:
    body = _question_body(V4, NO_THINKING)
    message = post(client, CHAT, body)["choices"][0]["message"]
    good = _answer_call(body, message, DEFINITION)
    assert client.post(CHAT, json=good).status_code == 200
    orphan = {**body, "messages": [*body["messages"], good["messages"][-1]]}
    r = client.post(CHAT, json=orphan)
    assert r.status_code == 400 and r.json() == deepseek_error(
        "Messages with role 'tool' must be a response to a preceding message with 'tool_calls'")
    wrong_id = json.loads(json.dumps(good))
    wrong_id["messages"][-1]["tool_call_id"] = "call_00_nope"
    assert client.post(CHAT, json=wrong_id).json()["error"]["message"].startswith(
        "Messages with role 'tool' must be a response")
    # A call left unanswered, even when a later round is complete.
    unanswered = {**body, "messages": [*good["messages"][:-1],
                                       {"role": "user", "content": "well?"},
                                       *good["messages"][-2:]]}
    r = client.post(CHAT, json=unanswered)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith(
        "An assistant message with 'tool_calls' must be followed by tool messages")
    last_unanswered = {**body, "messages": good["messages"][:-1]}
    assert client.post(CHAT, json=last_unanswered).status_code == 400
    no_id = json.loads(json.dumps(good))
    del no_id["messages"][-1]["tool_call_id"]
    assert client.post(CHAT, json=no_id).status_code == 422
    bad_tool = {**body, "tools": [{"type": "function", "function": {"description": "x"}}]}
    assert client.post(CHAT, json=bad_tool).status_code == 422


def test_v4_thinking_needs_the_reasoning_of_tool_call_turns_back(sim, client) -> None:
    body = _question_body(V4, {"type": "enabled"})
    message = post(client, CHAT, body)["choices"][0]["message"]
    assert message["reasoning_content"]
    nxt = _answer_call(body, message, DEFINITION)
    assert client.post(CHAT, json=nxt).status_code == 200
    del nxt["messages"][-2]["reasoning_content"]
    r = client.post(CHAT, json=nxt)
    assert r.status_code == 400 and r.json() == deepseek_error(
        "The reasoning_content in the thinking mode must be passed back to the API.")
    assert client.post(CHAT, json={**nxt, "thinking": NO_THINKING}).status_code == 200


def test_lookups_are_bounded_and_each_symbol_is_looked_up_once(client) -> None:
    code = ("def report(rows):\n    return render(summarise(group(clean(rows))))\n")
    body = _question_body(V4, NO_THINKING, "What could go wrong here?", code)
    looked_up = []
    for _ in range(5):
        choice = post(client, CHAT, body)["choices"][0]
        if choice["finish_reason"] != "tool_calls":
            break
        name = json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"])["name"]
        looked_up.append(name)
        body = _answer_call(body, choice["message"], f"def {name}(x):\n    return x\n")
    assert looked_up == ["render", "summarise", "group"]  # at most three rounds, in order
    content = choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    assert all(f"I looked up `{name}`" in content for name in looked_up)


def test_which_symbol_and_when_no_tool_is_called(client) -> None:
    # A symbol the question names comes first; a name the code defines is never looked up.
    body = _question_body(V4, NO_THINKING, "Can `clamp` return None?",
                          "def clamp(x):\n    return limit(x)\n")
    call = post(client, CHAT, body)["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"name": "limit"}
    body = _question_body(V4, NO_THINKING, "What does `bound` do?",
                          "def clamp(x):\n    return min(x, 10)\n")
    call = post(client, CHAT, body)["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"name": "bound"}
    defined = ("def scale(v, f):\n    return v * f\n\n\ndef double_all(values):\n"
               "    return [scale(v, 2) for v in values]\n")
    body = _question_body(V4, NO_THINKING, code=defined)
    assert post(client, CHAT, body)["choices"][0]["finish_reason"] == "stop"
    # Words of comments and strings are not symbols.
    commented = ('def tidy(items):\n    """Return the list sorted."""\n    # sort the list\n'
                 '    print("call helper(x) first")\n    return sorted(items)\n')
    body = _question_body(V4, NO_THINKING, "What does this return for the list?", commented)
    assert post(client, CHAT, body)["choices"][0]["finish_reason"] == "stop"
    body = _question_body(V4, NO_THINKING, tool_choice="none")
    assert post(client, CHAT, body)["choices"][0]["finish_reason"] == "stop"
    plain = {**_question_body(V4, NO_THINKING)}
    del plain["tools"]
    assert post(client, CHAT, plain)["choices"][0]["finish_reason"] == "stop"


def test_scripted_tool_calls_stream_in_parallel(sim, client) -> None:
    sim.script(Rule(path=CHAT, tool_calls=[
        {"name": "find_definition", "arguments": {"name": "scale"}},
        {"name": "read_lines", "arguments": {"path": "app.py", "start": 1, "end": 3}}]))
    body = _question_body(V4, NO_THINKING)
    message = post(client, CHAT, body)["choices"][0]["message"]
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["find_definition",
                                                                       "read_lines"]
    assert len({c["id"] for c in message["tool_calls"]}) == 2
    chunks = stream_chunks(client, CHAT, body)
    heads = [d["tool_calls"][0] for c in chunks[:-2]
             if (d := c["choices"][0]["delta"]).get("tool_calls") and "id" in d["tool_calls"][0]]
    assert [(h["index"], h["function"]["name"]) for h in heads] == [
        (0, "find_definition"), (1, "read_lines")]
    with pytest.raises(ValueError):
        Rule(tool_calls=[{"arguments": {}}])


# --- FIM logprobs and confidence ------------------------------------------------------------------


def _fim_body(**extra: Any) -> dict[str, Any]:
    return {"model": V4, "prompt": "def add(a, b):\n    ", "suffix": "\n", **extra}


def _streamed_logprobs(client: httpx.Client, body: dict[str, Any]) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {"tokens": [], "token_logprobs": [], "top_logprobs": [],
                                    "text_offset": []}
    for chunk in stream_chunks(client, FIM, body)[:-1]:
        if chunk["choices"] and chunk["choices"][0]["logprobs"]:
            lp = chunk["choices"][0]["logprobs"]
            assert len(lp["tokens"]) == 1  # one token per chunk, with its own logprobs
            for key in merged:
                merged[key] += lp[key]
    return merged


def test_fim_logprobs_are_high_for_what_the_model_is_sure_of(client) -> None:
    data = post(client, FIM, _fim_body(logprobs=3))
    choice = data["choices"][0]
    lp = choice["logprobs"]
    assert set(lp) == {"tokens", "token_logprobs", "top_logprobs", "text_offset"}
    assert "".join(lp["tokens"]) == choice["text"] == "return a + b"
    assert lp["text_offset"][0] == len("def add(a, b):\n    ")
    assert all(v > math.log(0.5) for v in lp["token_logprobs"])
    for token, value, top in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"],
                                 strict=True):
        assert len(top) == 3 and max(top, key=top.get) == token and top[token] == value
        assert sum(math.exp(v) for v in top.values()) <= 1.0
    assert _streamed_logprobs(client, _fim_body(logprobs=3)) == lp


def test_fim_guesses_carry_very_low_logprobs(sim, client) -> None:
    # A model (e.g. a benchmark's oracle) marks a deliberately wrong answer as a guess.
    sim.fake.fim_model = lambda prompt, suffix: Guess("return item(self, a)  # ?")
    lp = post(client, FIM, _fim_body(logprobs=2))["choices"][0]["logprobs"]
    first = lp["token_logprobs"][:4]
    assert all(math.log(0.0018) < v < math.log(0.0035) for v in first)  # ≈ ln 0.0025
    assert all(v < math.log(0.6) for v in lp["token_logprobs"])
    top = lp["top_logprobs"][0]
    assert len(top) == 3 and max(top, key=top.get) != "return"  # likelier tokens, then it
    assert _streamed_logprobs(client, _fim_body(logprobs=2)) == lp

    # A rule marks a canned answer unsure from a character on: here its second line.
    sim.script(Rule(path=FIM, text="return a + b\n    print(total)", confidence=0.001,
                    unsure_from=len("return a + b\n    "), times=1))
    lp = post(client, FIM, _fim_body(logprobs=0))["choices"][0]["logprobs"]
    values = dict(zip(lp["tokens"], lp["token_logprobs"], strict=True))
    assert lp["top_logprobs"] is None
    assert all(values[t] > math.log(0.5) for t in ("return", " a", " +", " b"))
    assert values["print"] < math.log(0.0015) and values["total"] < math.log(0.0015)
    # Chat logprobs follow the same rule.
    sim.script(Rule(path=CHAT, text="Maybe 42.", confidence=0.0025, times=1))
    data = post(client, CHAT, {"model": V4, "thinking": NO_THINKING, "logprobs": True,
                               "top_logprobs": 2,
                               "messages": [{"role": "user", "content": "The answer?"}]})
    entries = data["choices"][0]["logprobs"]["content"]
    assert entries[0]["token"] == "Maybe" and entries[0]["logprob"] < math.log(0.0035)
    assert all(e["top_logprobs"][0]["logprob"] > e["logprob"] for e in entries[:3])
    with pytest.raises(ValueError):
        Rule(confidence=0)
    with pytest.raises(ValueError):
        Guess("x", probability=2)


def test_fim_logprobs_limit_and_echo(client) -> None:
    assert client.post(FIM, json=_fim_body(logprobs=21)).status_code == 400
    assert client.post(FIM, json=_fim_body(logprobs=True)).status_code == 422
    echoed = post(client, FIM, _fim_body(logprobs=1, echo=True))["choices"][0]["logprobs"]
    assert echoed["token_logprobs"][0] is None and echoed["top_logprobs"][0] is None
    assert echoed["text_offset"][0] == 0


# --- chat max_tokens ------------------------------------------------------------------------------


def test_chat_answers_are_cut_at_max_tokens_streamed_and_not(sim, client) -> None:
    body = {"model": V4, "thinking": NO_THINKING, "max_tokens": 7,
            "messages": [{"role": "user", "content": "Explain recursion with an example"}]}
    whole = post(client, CHAT, {**body, "max_tokens": None})["choices"][0]["message"]["content"]
    data = post(client, CHAT, body)
    choice = data["choices"][0]
    assert choice["finish_reason"] == "length" and data["usage"]["completion_tokens"] == 7
    assert whole.startswith(choice["message"]["content"]) and len(choice["message"]["content"]) \
        < len(whole)
    chunks = stream_chunks(client, CHAT, body)
    assert "".join(c["choices"][0]["delta"].get("content") or ""
                   for c in chunks[:-2]) == choice["message"]["content"]
    assert chunks[-3]["choices"][0]["finish_reason"] == "length"
    assert sim.requests(CHAT)[-1].finish_reason == "length"

    # V4's budget covers the thinking: a budget smaller than the thought leaves no answer.
    thinking = post(client, CHAT, {**body, "thinking": {"type": "enabled"}})["choices"][0]
    assert thinking["finish_reason"] == "length" and thinking["message"]["content"] == ""
    assert thinking["message"]["reasoning_content"]
