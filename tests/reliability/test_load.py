"""Load: 20 open documents, 1,000 inline completion requests typed at random, many of them
cancelled with `$/cancelRequest` (as editors do on every keystroke), against a simulator with a
little latency. Every request must be answered (a result or RequestCancelled), and afterwards
nothing may be left behind: no upstream call still open, no sockets piling up in the server,
memory flat.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from deepseek_lsp.demo import Editor

from .support import server_alive, server_pid, wait_until

FIM = "/beta/completions"
DOCUMENTS = 20
REQUESTS = 1_000
IN_FLIGHT = 40  # requests outstanding at once, at most
CANCEL_SHARE = 0.35
KEYS = "abcdefghijklmnopqrstuvwxyz_ ()[]:=,.\n"


def sample(i: int) -> str:
    return (f"import os\n\n\nclass Store{i}:\n    def __init__(self, path):\n"
            f"        self.path = path\n\n    def load(self):\n        ")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            continue  # closed meanwhile
    return count


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def params(editor: Editor) -> lsp.InlineCompletionParams:
    assert editor.doc is not None
    line, character = editor.doc.position_at(editor.cursor, "utf-16")
    return lsp.InlineCompletionParams(
        text_document=lsp.TextDocumentIdentifier(editor.doc.uri),
        position=lsp.Position(line, character),
        context=lsp.InlineCompletionContext(
            trigger_kind=lsp.InlineCompletionTriggerKind.Automatic))


async def test_a_thousand_requests_with_cancellations(start_server, sim, tmp_path):
    sim.configure(ttft_ms=5, tokens_per_s=2000)
    first = await start_server()
    client = first.client
    pid = server_pid(first)
    editors = [first] + [Editor(client) for _ in range(DOCUMENTS - 1)]
    for i, editor in enumerate(editors):
        text = sample(i)
        editor.open((tmp_path / f"store{i}.py").as_uri(), text)
        editor.move_to(len(text))

    rng = random.Random(20261122)
    outcomes: dict[str, str] = {}
    pending: set[asyncio.Future[Any]] = set()
    cancels: list[asyncio.Task[None]] = []

    async def answer(msg_id: str, future: Any) -> None:
        try:
            await asyncio.wait_for(future, 15)
            outcomes[msg_id] = "result"
        except JsonRpcException as error:
            assert error.code == lsp.LSPErrorCodes.RequestCancelled, error
            outcomes[msg_id] = "cancelled"

    async def cancel_later(msg_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        client.cancel_request(lsp.CancelParams(id=msg_id))

    started = time.monotonic()
    warm_rss = warm_sockets = 0
    for n in range(REQUESTS):
        editor = rng.choice(editors)
        editor.type(rng.choice(KEYS))
        msg_id = f"load-{n}"
        future = asyncio.ensure_future(client.protocol.send_request_async(
            lsp.TEXT_DOCUMENT_INLINE_COMPLETION, params(editor), msg_id=msg_id))
        pending.add(asyncio.ensure_future(answer(msg_id, future)))
        if rng.random() < CANCEL_SHARE:
            cancels.append(asyncio.ensure_future(cancel_later(msg_id, rng.uniform(0, 0.03))))
        if len(pending) >= IN_FLIGHT:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # an answer that is neither a result nor RequestCancelled fails
        if n == 200:  # warmed up: caches and connection pool have their working size
            await asyncio.gather(*pending)
            pending.clear()
            warm_rss, warm_sockets = rss_kb(pid), sockets(pid)
    await asyncio.gather(*pending, *cancels)
    elapsed = time.monotonic() - started

    assert len(outcomes) == REQUESTS  # every request answered
    cancelled = sum(v == "cancelled" for v in outcomes.values())
    assert server_alive(first)
    status = await first.command("deepseek.status")
    assert status["completionRequests"] == REQUESTS
    assert cancelled > 50 and status["upstreamRequests"] > 50  # the upstream path was exercised

    # Nothing left behind: every upstream call ended (finished or hung up) ...
    await wait_until(lambda: all(r.finished is not None for r in sim.requests(FIM)), 10)
    # ... the server holds no more sockets than its keep-alive pool ...
    await asyncio.sleep(0.5)
    end_sockets = sockets(pid)
    end_rss = rss_kb(pid)
    # ... and, left alone, it rests: no task left spinning
    cpu_before = cpu_seconds(pid)
    await asyncio.sleep(1.0)
    idle_cpu = cpu_seconds(pid) - cpu_before
    print(f"\nload: {REQUESTS} requests ({cancelled} cancelled, "
          f"{status['upstreamRequests']} upstream) in {elapsed:.1f} s; "
          f"RSS {warm_rss / 1024:.1f} MB after warm-up, {end_rss / 1024:.1f} MB at the end; "
          f"sockets {warm_sockets} after warm-up, {end_sockets} at the end; "
          f"{idle_cpu:.2f} s CPU in 1 s idle")
    # the event loop's self-pipe (2) and httpx's pool of at most 8 idle connections
    assert end_sockets <= 2 + 8 + 2
    assert idle_cpu < 0.2
    # ... and memory stayed flat (generous: allocator noise, caches filling up)
    assert end_rss <= warm_rss + 25 * 1024
    # and it still answers at once
    first.type("\n")
    await asyncio.wait_for(first.ghost(), 5)
