"""A scripted typing session: a programmer writes two functions at the end of a 600-line file.

Human rhythm (seeded): ~150 ms between keys, pauses to think after most lines and now and then
mid-line. After every keystroke the editor asks for ghost text and cancels its previous,
unanswered request (as VS Code does). When the ghost text shown is what the typist meant to
write, they accept it with Tab (sometimes) or type through it (otherwise).

The upstream is the simulator with DeepSeek-like latency; its FIM model is an oracle that
knows the typist's intent and suggests the rest of the current line (or the next lines on a
new line), wrong on purpose for one line in four, so the engine sees both kinds of answer.
The same session is played against configurations of the same engine: this server's and the
baselines'. Everything but the engine configuration is identical between them.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from dataclasses import dataclass, field

from deepseek_lsp.api.backend import ApiBackend
from deepseek_lsp.completion.engine import CompletionEngine, CompletionQuery, EngineOptions
from deepseek_lsp.config import Settings
from deepseek_lsp.simulator import Guess, Rule, SimulatorThread

#: What the typist writes, at the end of the file.
INTENT = '''

def parse_order(line: str) -> Order:
    """Parse one CSV line of the orders export into an Order."""
    fields = [field.strip() for field in line.split(",")]
    if len(fields) != 4:
        raise ValueError(f"expected 4 fields, got {len(fields)}: {line!r}")
    order_id, customer, amount, currency = fields
    return Order(id=int(order_id), customer=customer, amount=float(amount),
                 currency=currency.upper())


def total_by_customer(orders: list[Order]) -> dict[str, float]:
    """Sum the order amounts per customer, in the orders' own currency."""
    totals: dict[str, float] = {}
    for order in orders:
        totals[order.customer] = totals.get(order.customer, 0.0) + order.amount
    return dict(sorted(totals.items(), key=lambda item: item[1], reverse=True))


def read_orders(path: str) -> list[Order]:
    """Read every order of a CSV export, skipping the header and blank lines."""
    orders = []
    with open(path, encoding="utf-8") as export:
        next(export, None)
        for number, line in enumerate(export, start=2):
            if not line.strip():
                continue
            try:
                orders.append(parse_order(line))
            except ValueError as error:
                raise ValueError(f"{path}:{number}: {error}") from None
    return orders


def largest_orders(orders: list[Order], count: int = 10) -> list[Order]:
    """The `count` largest orders, largest first; ties keep the export's order."""
    ranked = sorted(orders, key=lambda order: order.amount, reverse=True)
    return ranked[:count]


def report(path: str) -> str:
    """A short text report: totals per customer and the largest orders."""
    orders = read_orders(path)
    lines = [f"{len(orders)} orders"]
    for customer, total in total_by_customer(orders).items():
        lines.append(f"  {customer:<20} {total:>10.2f}")
    lines.append("largest:")
    for order in largest_orders(orders, 3):
        lines.append(f"  #{order.id} {order.customer} {order.amount:.2f} {order.currency}")
    return "\n".join(lines)
'''


def base_file(lines: int = 600) -> str:
    """A plausible module to type into (600 lines of small functions and a dataclass)."""
    out = ['"""Orders: reading, checking and summarising the shop\'s order exports."""', "",
           "from dataclasses import dataclass", "", "", "@dataclass", "class Order:",
           "    id: int", "    customer: str", "    amount: float", "    currency: str", ""]
    i = 0
    while len(out) < lines:
        out += ["", f"def check_rule_{i}(order: Order) -> bool:",
                f'    """Rule {i}: amounts over {i * 10} need a customer name."""',
                f"    if order.amount > {i * 10} and not order.customer:",
                "        return False", f"    return order.currency in CURRENCIES_{i % 7}", ""]
        i += 1
    return "\n".join(out) + "\n"


@dataclass
class Config:
    name: str
    debounce_ms: int
    options: EngineOptions
    adaptive: bool = True
    min_confidence: float = Settings().min_confidence


CONFIGS = [
    Config("deepseek-lsp", Settings().debounce_ms, EngineOptions()),
    Config("naive (every keystroke, no cache, no type-ahead)", 0,
           EngineOptions(typeahead=False, cache=False, speculate=False), adaptive=False,
           min_confidence=0),
    Config("minuet-like (400 ms debounce, no type-ahead)", 400,
           EngineOptions(typeahead=False, cache=False, speculate=False), adaptive=False,
           min_confidence=0),
    Config("sliding-window prompt (otherwise deepseek-lsp)", Settings().debounce_ms,
           EngineOptions(anchored_prefix=False)),
    Config("deepseek-lsp without the confidence check", Settings().debounce_ms,
           EngineOptions(), min_confidence=0),
]

#: Kinds of pause, by where the typist stopped.
FIRST, AFTER_ENTER, MID_LINE, AFTER_ACCEPT = (
    "first of the session", "line end (after Enter)", "mid-line", "after an accept")
KINDS = (MID_LINE, AFTER_ENTER, FIRST, AFTER_ACCEPT)


@dataclass
class Pause:
    kind: str
    latency_ms: float | None = None  # None: no ghost text before the typist went on
    wrong: bool = False  # the ghost text shown was not what the typist then wrote
    known: bool = True  # the model knows this line (it guesses, wrongly, on one line in four)


@dataclass
class Result:
    config: str
    keystrokes: int = 0
    characters: int = 0  # of code written (the same for every configuration)
    accepted: int = 0
    typed_through: int = 0
    upstream: int = 0
    upstream_while_typing_through: int = 0
    seconds: float = 0.0
    pauses: list[Pause] = field(default_factory=list)
    prompt_tokens: int = 0
    hit_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    @property
    def per_keystroke(self) -> float:
        return self.upstream / max(1, self.keystrokes)

    @property
    def hit_share(self) -> float:
        return self.hit_tokens / max(1, self.prompt_tokens)

    @property
    def cost_per_1000_chars(self) -> float:
        return self.cost / max(1, self.characters) * 1000

    @property
    def cost_per_hour(self) -> float:
        return self.cost / max(self.seconds, 1e-9) * 3600

    @property
    def pause_latencies_ms(self) -> list[float]:
        return [p.latency_ms for p in self.pauses if p.latency_ms is not None]

    def latencies(self, kind: str) -> list[float]:
        return [p.latency_ms for p in self.pauses if p.kind == kind and p.latency_ms is not None]

    def count(self, kind: str) -> int:
        return sum(1 for p in self.pauses if p.kind == kind)

    @property
    def right_where_known(self) -> tuple[int, int]:
        """Pauses with the right ghost text, of the pauses on lines the model knew."""
        known = [p for p in self.pauses if p.known]
        return sum(p.latency_ms is not None and not p.wrong for p in known), len(known)

    @property
    def wrong_per_100_pauses(self) -> float:
        return 100 * sum(p.wrong for p in self.pauses) / max(1, len(self.pauses))


class Oracle:
    """The simulated model: knows what each session's typist will write, and is wrong on
    purpose for one line in four — with low confidence on those, as a real model's logprobs
    show when it guesses."""

    def __init__(self, base: str, intent: str) -> None:
        self.base, self.intent = base, intent

    def __call__(self, prompt: str, suffix: str | None) -> str:
        typed = self._typed_length(prompt)
        if typed is None:
            return ""
        rest = self.intent[typed:]
        if not rest:
            return ""
        at_line_start = typed == 0 or self.intent[typed - 1] == "\n"
        end = rest.find("\n")
        if at_line_start and rest.strip():
            lines = rest.split("\n")
            answer = "\n".join(lines[:3])
        else:
            answer = rest if end < 0 else rest[:end]
        if guesses_at(self.intent, typed):  # one line in four: a wrong guess
            wrong = answer.replace("order", "item").replace("(", "(self, ", 1) + "  # ?"
            return Guess(wrong, start=_first_difference(answer, wrong))
        return answer

    def _typed_length(self, prompt: str) -> int | None:
        """How much of the intent the prompt ends with (the prompt ends at the cursor)."""
        whole, start = self.base + self.intent, len(self.base)
        for k in range(len(self.intent), -1, -1):
            if prompt.endswith(whole[max(0, start + k - 200) : start + k]):
                return k
        return None


def guesses_at(intent: str, typed: int) -> bool:
    """Whether the simulated model guesses (wrongly) on the line of position `typed`."""
    line_no = intent.count("\n", 0, typed)
    return zlib.crc32(str(line_no).encode()) % 4 == 0


def _first_difference(a: str, b: str) -> int:
    """Where `b` stops being `a`: a guess is unsure from there on."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _rhythm(rng: random.Random, ch: str, next_ch: str, accepted: bool) -> float:
    """Seconds before the next keystroke."""
    delay = min(max(rng.gauss(0.15, 0.05), 0.06), 0.4)
    if accepted and rng.random() < 0.5:
        delay += rng.uniform(0.6, 1.5)  # read what was just accepted
    elif ch == "\n" and rng.random() < 0.6:
        delay += rng.uniform(0.8, 2.0)  # think about the next line
    elif ch == " " and next_ch != " " and rng.random() < 0.08:
        delay += rng.uniform(0.5, 1.2)
    return delay


async def play(config: Config, *, intent: str = INTENT, speed: float = 1.0, seed: int = 7,
               ttft_ms: int = 600, tokens_per_s: float = 50, connect_ms: int = 300,
               models_ms: int = 150) -> Result:
    """Play the session against one engine configuration; its own simulator counts tokens.

    The session starts as an editor's does: the server is initialized (this server warms its
    connection and discovers the model then; the baselines do nothing), and the typist starts
    a second later. The simulator charges `connect_ms` for each new connection and
    `models_ms` for `GET /models`, so a cold first request costs what it costs.
    """
    base = base_file()
    result = Result(config.name)
    rng = random.Random(seed)
    with SimulatorThread(ttft_ms=int(ttft_ms / speed), tokens_per_s=tokens_per_s * speed,
                         connect_ms=connect_ms / speed) as sim:
        sim.script(Rule(path="/models", ttft_s=models_ms / 1000 / speed))
        sim.fake.fim_model = Oracle(base, intent)
        settings = Settings(api_key="sk-benchmark", base_url=sim.base_url,
                            debounce_ms=int(config.debounce_ms / speed), neighbor_files=False,
                            adaptive_debounce=config.adaptive,
                            min_confidence=config.min_confidence)
        backend = ApiBackend(lambda: settings)
        engine = CompletionEngine(backend, lambda: settings, options=config.options)
        if config.options.speculate:  # at `initialized`
            warming = asyncio.ensure_future(backend.warm(settings))
        await asyncio.sleep(1.0 / speed)
        uri, path = "file:///bench/orders.py", f"{config.name[:12]}/orders.py"
        text, typed = base, 0
        pending: asyncio.Task[object] | None = None
        shown: tuple[int, str] | None = None  # (typed length when shown, ghost text)
        pause: tuple[Pause, float] | None = None  # the pause going on, and when it began
        started = time.monotonic()

        def query() -> CompletionQuery:
            return CompletionQuery(uri=uri, version=result.keystrokes, text=text,
                                   offset=len(text), path=path, language_id="python")

        def on_answer(task: asyncio.Task[object], at: int) -> None:
            nonlocal shown
            if task.cancelled() or task.exception() is not None or task.result() is None:
                return
            answer = task.result()
            if at != typed:  # the editor shows only answers for where the cursor is
                return
            shown = (at, answer.text)  # type: ignore[attr-defined]
            if pause is not None and pause[0].latency_ms is None:
                pause[0].latency_ms = (time.monotonic() - pause[1]) * 1000 * speed
                pause[0].wrong = not intent[typed:].startswith(shown[1])

        while typed < len(intent):
            ghost = shown[1] if shown and shown[0] == typed else None
            rest = intent[typed:]
            through = bool(ghost) and rest.startswith(ghost)
            accepted = False
            if through and rng.random() < 0.3:
                typed += len(ghost)  # Tab
                result.accepted += 1
                shown = None
                through = False
                accepted = True
            else:
                if through:
                    result.typed_through += 1
                typed += 1
            result.keystrokes += 1
            text = base + intent[:typed]
            pause = None
            engine.document_changed(query())  # the editor's didChange
            if pending is not None and not pending.done():
                pending.cancel()  # the editor cancels its stale request
            before = len(sim.requests("/beta/completions"))
            asked = time.monotonic()
            delay = _rhythm(rng, intent[typed - 1], intent[typed : typed + 1], accepted) / speed
            if delay > 0.5 / speed:
                kind = (FIRST if not result.pauses else AFTER_ACCEPT if accepted
                        else AFTER_ENTER if intent[typed - 1] == "\n" else MID_LINE)
                result.pauses.append(Pause(kind, known=not guesses_at(intent, typed)))
                pause = (result.pauses[-1], asked)
            pending = asyncio.ensure_future(engine.complete(query()))
            pending.add_done_callback(lambda t, at=typed: on_answer(t, at))
            await asyncio.sleep(delay)
            if through and len(ghost) > 1:  # part of the suggestion is still ahead
                result.upstream_while_typing_through += (
                    len(sim.requests("/beta/completions")) - before)
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)
        if config.options.speculate:
            await asyncio.gather(warming, return_exceptions=True)
        result.seconds = (time.monotonic() - started) * speed
        result.characters = len(intent)
        await backend.aclose()
        stats = sim.cache_stats()
        result.upstream = len(sim.requests("/beta/completions"))
        result.prompt_tokens = stats.get("prompt_tokens", 0)
        result.hit_tokens = stats.get("hit_tokens", 0)
        result.completion_tokens = sum(
            (r.usage or {}).get("completion_tokens", 0) for r in sim.requests("/beta/completions"))
        miss = result.prompt_tokens - result.hit_tokens
        result.cost = settings.prices.cost(result.hit_tokens, miss, result.completion_tokens)
    return result


#: Typists (random seeds) per configuration: one session has too few pauses of each kind for a
#: median to mean much.
SEEDS = (7, 8, 9)


def combined(results: list[Result]) -> Result:
    """One configuration's sessions as one: counts added, pauses pooled."""
    out = Result(results[0].config)
    for r in results:
        for name in ("keystrokes", "characters", "accepted", "typed_through", "upstream",
                     "upstream_while_typing_through", "seconds", "prompt_tokens", "hit_tokens",
                     "completion_tokens", "cost"):
            setattr(out, name, getattr(out, name) + getattr(r, name))
        out.pauses += r.pauses
    return out


async def play_all(*, speed: float = 1.0, intent: str = INTENT,
                   seeds: tuple[int, ...] = SEEDS) -> list[Result]:
    """All configurations with every seed, concurrently (each session has its own simulator
    and engine); the sessions of a configuration are combined."""
    runs = await asyncio.gather(*(play(c, speed=speed, intent=intent, seed=seed)
                                  for c in CONFIGS for seed in seeds))
    return [combined(list(runs[i * len(seeds):(i + 1) * len(seeds)]))
            for i in range(len(CONFIGS))]
