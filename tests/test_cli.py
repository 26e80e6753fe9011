"""The command line as users run it: subprocesses against the simulator on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from deepseek_lsp import __version__
from deepseek_lsp.simulator import Rule

KEY = "sk-cli-test-0123456789abcdef"


def run(sim, *args: str, key: str | None = KEY, base_url: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    env["DEEPSEEK_BASE_URL"] = base_url or sim.base_url
    if key is not None:
        env["DEEPSEEK_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "deepseek_lsp", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_user_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert needle.lower() in lines[0].lower()
    assert KEY not in result.stderr + result.stdout


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "fib.py"
    path.write_text("def fibonacci(n):\n    \n\nprint(fibonacci(10))\n", encoding="utf-8")
    return path


def test_version(sim):
    result = run(sim, "--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_stdio_flag_is_accepted(sim):
    """vscode-languageclient adds `--stdio` when a client asks for the stdio transport."""
    proc = subprocess.run([sys.executable, "-m", "deepseek_lsp", "--stdio"], input="",
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr  # served stdin until its end, then left
    assert "unrecognized arguments" not in proc.stderr and "Traceback" not in proc.stderr


def test_complete_prints_the_suggestion(sim, source):
    sim.script(Rule(path="/beta/completions", text="return n if n < 2 else fibonacci(n - 1)"))
    result = run(sim, "complete", f"{source}:2:5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "return n if n < 2 else fibonacci(n - 1)"
    (req,) = sim.requests("/beta/completions")
    assert req.json["prompt"].endswith("def fibonacci(n):\n    ")
    assert req.json["suffix"].startswith("\n\nprint(fibonacci(10))")


def test_complete_verbose_prints_each_token_with_its_probability(sim, source):
    sim.script(Rule(path="/beta/completions", text="return n"))
    result = run(sim, "complete", "--verbose", f"{source}:2:5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "return n"  # stdout stays the suggestion, for scripts
    assert sim.requests("/beta/completions")[0].json["logprobs"] >= 1
    token_lines = [line for line in result.stderr.splitlines() if line.startswith("  '")]
    assert "".join(eval(line.split("  ")[1]) for line in token_lines) == "return n"
    assert all(line.rstrip().endswith("%") for line in token_lines)  # all sure: no mark
    assert "completion tokens" in result.stderr and "minConfidence 1 %" in result.stderr


def test_complete_verbose_shows_why_an_unsure_answer_was_hidden(sim, source):
    sim.script(Rule(path="/beta/completions", text="return fib(n)", confidence=0.0025))
    result = run(sim, "complete", "--verbose", f"{source}:2:5")
    assert result.returncode == 1 and result.stdout == ""
    assert "no suggestion" in result.stderr
    marked = [line for line in result.stderr.splitlines() if line.endswith("< minConfidence")]
    assert marked and all(float(line.split()[-4]) < 1 for line in marked)  # per cent


@pytest.mark.parametrize(
    ("location", "needle"),
    [("missing.py:1:1", "no such file"), ("{src}:99:1", "past the end"),
     ("{src}:1:500", "past the end of line 1"), ("{src}:0:1", "start at 1"),
     ("{src}", "FILE:LINE:COL")],
)
def test_complete_bad_input(sim, source, location, needle):
    result = run(sim, "complete", location.format(src=source))
    assert_user_error(result, needle)
    assert sim.requests() == []


def test_no_key(sim, source):
    assert_user_error(run(sim, "complete", f"{source}:2:5", key=None), "DEEPSEEK_API_KEY")
    assert_user_error(run(sim, "balance", key=None), "DEEPSEEK_API_KEY")
    assert sim.requests() == []


def test_wrong_key(sim):
    sim.configure(api_key="sk-the-only-good-key-00000000")
    assert_user_error(run(sim, "balance"), "401")
    assert_user_error(run(sim, "models"), "401")


def test_unreachable_url(sim):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    assert_user_error(run(sim, "balance", base_url=f"http://127.0.0.1:{port}"), "reach")


def test_balance_and_models(sim):
    result = run(sim, "balance")
    assert result.returncode == 0
    assert "CNY" in result.stdout and "granted" in result.stdout
    result = run(sim, "models")
    assert result.returncode == 0
    assert "deepseek-v4-flash  (auto FIM, auto chat)" in result.stdout
    sim.configure(generation="legacy")
    result = run(sim, "models")
    assert result.returncode == 0, result.stderr
    assert "deepseek-chat  (auto FIM, auto chat)" in result.stdout


def test_chat_streams_an_answer(sim, source):
    sim.script(Rule(path="/chat/completions", text="It computes Fibonacci numbers."))
    result = run(sim, "chat", "What does this do?", "--file", f"{source}:1-2")
    assert result.returncode == 0, result.stderr
    assert "It computes Fibonacci numbers." in result.stdout
    body = sim.requests("/chat/completions")[0].json
    user = body["messages"][-1]["content"]
    assert "What does this do?" in user and "def fibonacci(n):" in user
    assert body["stream"] is True
    assert body["thinking"] == {"type": "disabled"}


def test_chat_bad_file_range(sim, source):
    assert_user_error(run(sim, "chat", "Q", "--file", f"{source}:50-60"), "lines")


def test_doctor(sim):
    result = run(sim, "doctor")
    assert result.returncode == 0, result.stdout
    assert "[ok] FIM completions work with deepseek-v4-flash" in result.stdout
    result = run(sim, "doctor", key=None)
    assert result.returncode != 0 and "DEEPSEEK_API_KEY" in result.stdout


def test_fake_api_serves_on_loopback():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "deepseek_lsp", "fake-api", "--port",
                             str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        deadline = time.monotonic() + 10
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/models",
                              headers={"Authorization": "Bearer sk-x"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["object"] == "list"
    finally:
        proc.terminate()
        proc.wait(10)


def test_fake_api_refuses_non_loopback_hosts(sim):
    assert_user_error(run(sim, "fake-api", "--host", "0.0.0.0"), "loopback only")
    assert_user_error(run(sim, "fake-api", "--host", "10.1.2.3"), "loopback only")


def test_demo_runs_offline():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    result = subprocess.run([sys.executable, "-m", "deepseek_lsp", "demo", "--offline"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "ghost text after typing a function header" in out
    assert "upstream requests while typing through: 0" in out
    assert "deepseek.status" in out
    assert "Traceback" not in result.stderr


async def test_serves_lsp_over_tcp(sim):
    from lsprotocol import types as lsp
    from pygls.lsp.client import LanguageClient

    from deepseek_lsp.demo import INLINE_CLIENT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    env.update(DEEPSEEK_API_KEY=KEY, DEEPSEEK_BASE_URL=sim.base_url)
    proc = subprocess.Popen([sys.executable, "-m", "deepseek_lsp", "--tcp", f"127.0.0.1:{port}"],
                            env=env)
    client = LanguageClient("tcp-test", "1")
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server never listened"
                await asyncio.sleep(0.1)
        result = await asyncio.wait_for(client.initialize_async(
            lsp.InitializeParams(capabilities=INLINE_CLIENT)), 20)
        assert result.capabilities.inline_completion_provider is not None
        await client.shutdown_async(None)
        client.exit(None)
        assert await asyncio.to_thread(proc.wait, 10) == 0  # `exit` after `shutdown`
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        with contextlib.suppress(ConnectionError):  # the server closed its end first
            await asyncio.wait_for(client.stop(), 10)


# -- hostile or unlucky input: one line and exit 2, never a traceback or a hang ---------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("args", "needle"), [
    (("complete", "{src}:²:1"), "FILE:LINE:COL"),  # "²".isdigit() is True, int("²") fails
    (("complete", "{src}:٣:1"), "FILE:LINE:COL"),
    (("fake-api", "--port", "-1"), "port"),
    (("fake-api", "--port", "99999"), "0-65535"),
    (("--log-file", "/nonexistent-dir/x.log", "balance"), "log file"),
    (("--log-file", "{dir}", "balance"), "log file"),
    (("--tcp", "127.0.0.1:99999"), "0-65535"),
    (("--tcp", "127.0.0.1:http"), "HOST:PORT"),
    (("--bogus-flag",), "unrecognized"),
])
def test_bad_arguments_give_one_line(sim, source, args, needle):
    args = tuple(a.format(src=source, dir=source.parent) for a in args)
    result = run(sim, *args, timeout=30)
    assert result.returncode == 2, result.stderr
    assert_user_error(result, needle)
    assert sim.requests() == []


def test_tcp_on_a_port_in_use_gives_one_line(sim):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run(sim, "--tcp", f"127.0.0.1:{busy.getsockname()[1]}", timeout=30)
    assert result.returncode == 2
    assert_user_error(result, "cannot listen")


@pytest.mark.parametrize("address", ["0.0.0.0:{port}", "[::]:{port}", "192.0.2.7:{port}"])
def test_tcp_listens_on_loopback_only_unless_allowed(sim, address):
    port = _free_port()
    result = run(sim, "--tcp", address.format(port=port), timeout=30)
    assert result.returncode == 2
    assert_user_error(result, "--allow-remote")
    with socket.socket() as probe:  # and nothing listens
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_tcp_on_all_interfaces_with_allow_remote_warns_and_serves(sim):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPSEEK_")}
    proc = subprocess.Popen([sys.executable, "-m", "deepseek_lsp", "--allow-remote", "--tcp",
                             f"0.0.0.0:{port}"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline and proc.poll() is None, "never listened"
            time.sleep(0.1)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "without authentication" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["complete", "chat"])
@pytest.mark.parametrize("kind", ["device", "fifo", "directory", "huge"])
def test_only_regular_files_of_bounded_size_are_read(sim, tmp_path, command, kind):
    if kind == "device":
        path = "/dev/zero"
    elif kind == "fifo":
        path = str(tmp_path / "pipe.py")
        os.mkfifo(path)
    elif kind == "directory":
        path = str(tmp_path)
    else:
        path = str(tmp_path / "huge.py")
        with open(path, "wb") as f:
            f.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    args = ("complete", f"{path}:1:1") if command == "complete" else ("chat", "q", "--file", path)
    started = time.monotonic()
    result = run(sim, *args, timeout=30)  # a hang fails here
    assert time.monotonic() - started < 20
    assert result.returncode == 2
    needle = {"device": "not a regular file", "fifo": "not a regular file",
              "directory": "is a directory", "huge": "too large"}[kind]
    assert_user_error(result, needle)
    assert sim.requests() == []


@pytest.mark.parametrize("command", [("complete", "{src}:2:5"), ("balance",), ("models",)])
def test_api_failures_in_commands_give_exactly_one_line(sim, source, command):
    sim.configure(api_key="sk-the-only-good-key-00000000")
    result = run(sim, *(a.format(src=source) for a in command))
    assert_user_error(result, "401")  # one line: no log record beside the message


@pytest.mark.parametrize("url", ["localhost:8080", "ftp://x", "notaurl",
                                 "http://203.0.113.9:8080"])
def test_an_unusable_base_url_is_refused_not_replaced(sim, source, url):
    for command in (("balance",), ("complete", f"{source}:2:5"), ("chat", "hi")):
        result = run(sim, *command, base_url=url, timeout=30)
        assert result.returncode == 2
        assert_user_error(result, "no request is sent")
        assert url in result.stderr
