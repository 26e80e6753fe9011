"""`deepseek-lsp chat` as scripts run it: `--json` prints the whole answer object (built from the
streamed answer: the client has no non-streamed chat), and a cut answer says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from deepseek_lsp.simulator import Rule

KEY = "sk-test-0123456789abcdef0123"


def run(sim, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    env.update(DEEPSEEK_BASE_URL=sim.base_url, DEEPSEEK_API_KEY=KEY)
    return subprocess.run([sys.executable, "-m", "deepseek_lsp", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_chat_json_prints_the_whole_answer_object(sim):
    sim.script(Rule(path="/chat/completions", text="It adds.", reasoning="Look at +."))
    result = run(sim, "chat", "What does a + b do?", "--json", "--reasoning")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)  # stdout is the object and nothing else
    assert answer["content"] == "It adds."
    assert answer["reasoningContent"] == "Look at +."
    assert answer["model"] == "deepseek-v4-flash" and answer["finishReason"] == "stop"
    assert answer["usage"]["completionTokens"] == sim.requests()[-1].usage["completion_tokens"]
    assert result.stderr == ""
    body = sim.requests("/chat/completions")[0].json
    assert body["stream"] is True and body["max_tokens"] == 8192


def test_chat_says_when_the_answer_was_cut(sim):
    sim.script(Rule(path="/chat/completions", text="word " * 9000))
    result = run(sim, "chat", "Tell me everything.")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("word word")
    assert "the answer was cut at 8,192 tokens" in result.stderr
    result = run(sim, "chat", "Tell me everything.", "--json")
    assert result.returncode == 0, result.stderr
    as_json = json.loads(result.stdout)
    assert as_json["finishReason"] == "length" and as_json["cutAtTokens"] == 8192
