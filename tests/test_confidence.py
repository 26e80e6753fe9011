"""The confidence check on FIM answers: a guess is not shown, a block is cut where the model
stopped being sure, and answers without usable logprobs are shown as they are."""

from __future__ import annotations

import math

import pytest

from deepseek_lsp.completion.confidence import confident_text, token_probabilities
from deepseek_lsp.simulator import Rule

FIM = "/beta/completions"
PY = "file:///work/app.py"
SURE, GUESS = math.log(0.9), math.log(0.0025)


def logprobs(*pairs: tuple[str, float]) -> dict[str, list]:
    """DeepSeek's FIM `logprobs` object for tokens with their log-probabilities."""
    return {"tokens": [t for t, _ in pairs], "token_logprobs": [v for _, v in pairs]}


BLOCK = "total = a + b\n    return total\n"
BLOCK_TOKENS = [("total", SURE), (" =", SURE), (" a", SURE), (" +", SURE), (" b", SURE),
                ("\n", SURE), ("    ", SURE), ("return", SURE), (" total", SURE), ("\n", SURE)]


def unsure_at(tokens: list[tuple[str, float]], index: int) -> list[tuple[str, float]]:
    return [(t, GUESS if i == index else v) for i, (t, v) in enumerate(tokens)]


def test_a_sure_answer_is_kept_whole() -> None:
    assert confident_text(BLOCK, logprobs(*BLOCK_TOKENS), 0.01) == BLOCK


def test_a_guess_in_the_first_line_hides_the_answer() -> None:
    assert confident_text(BLOCK, logprobs(*unsure_at(BLOCK_TOKENS, 2)), 0.01) is None


def test_a_guess_in_a_later_line_cuts_before_that_line() -> None:
    assert confident_text(BLOCK, logprobs(*unsure_at(BLOCK_TOKENS, 7)), 0.01) == "total = a + b\n"


def test_whitespace_tokens_are_not_judged() -> None:
    """Indentation carries no meaning the user would read: a low value there is no guess."""
    assert confident_text(BLOCK, logprobs(*unsure_at(BLOCK_TOKENS, 6)), 0.01) == BLOCK


@pytest.mark.parametrize("threshold", [0.0, -1.0])
def test_a_threshold_of_zero_turns_the_check_off(threshold: float) -> None:
    assert confident_text(BLOCK, logprobs(*unsure_at(BLOCK_TOKENS, 0)), threshold) == BLOCK


def test_the_threshold_is_a_probability() -> None:
    tokens = logprobs(("x", math.log(0.05)), (" = 1", SURE))
    assert confident_text("x = 1", tokens, 0.04) == "x = 1"
    assert confident_text("x = 1", tokens, 0.06) is None


@pytest.mark.parametrize("evidence", [
    None, [], "text", {"tokens": ["total"]}, {"tokens": "total", "token_logprobs": [GUESS]},
    {"tokens": [1], "token_logprobs": [GUESS]},  # not text
    logprobs(("something else", GUESS)),  # tokens that do not spell the answer
])
def test_no_usable_evidence_means_no_judgement(evidence: object) -> None:
    assert confident_text(BLOCK, evidence, 0.01) == BLOCK


def test_odd_values_count_as_unknown_not_as_guesses() -> None:
    """A positive log-probability, a boolean or a missing value says nothing about the token."""
    odd = {"tokens": ["total", " = a + b\n"], "token_logprobs": [0.5, None]}
    assert [p.probability for p in token_probabilities(odd)] == [None, None]
    assert confident_text("total = a + b\n", odd, 0.01) == "total = a + b\n"
    flagged = {"tokens": ["total"], "token_logprobs": [True]}
    assert token_probabilities(flagged)[0].probability is None


def test_tokens_past_the_answer_are_not_judged() -> None:
    """The stream was cut at the end of the block: later (unsure) tokens are not shown."""
    tokens = [*BLOCK_TOKENS, ("print", GUESS)]
    assert confident_text(BLOCK, logprobs(*tokens), 0.01) == BLOCK


def test_the_cut_is_after_the_last_line_break_of_a_token() -> None:
    """A token may hold a blank line (`\n\n`): the cut keeps both line breaks."""
    tokens = logprobs(("a = 1", SURE), ("\n\n", SURE), ("b", GUESS), (" = 2", SURE))
    assert confident_text("a = 1\n\nb = 2", tokens, 0.01) == "a = 1\n\n"


def test_a_guess_just_past_the_answer_is_not_judged() -> None:
    tokens = logprobs(("total", SURE), (" = a", SURE), ("print", GUESS))
    assert confident_text("total = a", tokens, 0.01) == "total = a"


def test_tokens_covering_part_or_more_of_the_answer_are_judged() -> None:
    """The tokens of a streamed answer cut early, or of one cut after its tokens: still
    evidence about the part they spell."""
    first_line_guess = unsure_at(BLOCK_TOKENS, 2)[:6]  # `total = a + b\n` only
    assert confident_text(BLOCK, logprobs(*first_line_guess), 0.01) is None
    longer = [*unsure_at(BLOCK_TOKENS, 7), ("print", SURE)]
    assert confident_text(BLOCK, logprobs(*longer), 0.01) == "total = a + b\n"


def test_fewer_values_than_tokens_judge_the_tokens_that_have_one() -> None:
    tokens = {"tokens": ["total", " =", " guess"], "token_logprobs": [SURE, SURE]}
    assert [p.probability is not None for p in token_probabilities(tokens)] == [True, True]
    assert confident_text("total = guess", tokens, 0.01) == "total = guess"


def test_a_certain_token_and_a_token_at_the_threshold_are_kept() -> None:
    assert token_probabilities(logprobs(("x", 0.0)))[0].probability == 1.0
    at = math.log(0.25)
    tokens = logprobs(("x", at), (" = 1", SURE))
    assert confident_text("x = 1", tokens, math.exp(at)) == "x = 1"


# -- end to end: what the editor shows, and the counters of deepseek.status --------------------


async def test_the_editor_is_shown_no_guess_and_a_block_cut_where_it_became_one(
        start_server, sim):
    sim.script(Rule(path=FIM, text="return item(self, a)", confidence=0.002, times=1))
    sim.script(Rule(path=FIM, text="total = a + b\n    print(total)\n    return total",
                    confidence=0.002, unsure_from=len("total = a + b\n    "), times=1))
    editor = await start_server()
    editor.open(PY, "def add(a, b):\n    \n\n\nprint(add(1, 2))\n")
    editor.move_to(len("def add(a, b):\n    "))
    assert await editor.ghost() is None  # a guess from its first token
    editor.type("\n    ")  # somewhere else: a new request
    item = await editor.ghost()
    assert item is not None and item.insert_text == "total = a + b"
    assert all(r.json.get("logprobs") == 1 for r in sim.requests(FIM))
    status = await editor.command("deepseek.status")
    assert (status["unsureHidden"], status["unsureCut"]) == (1, 1)


async def test_min_confidence_zero_shows_guesses_and_asks_for_no_logprobs(start_server, sim):
    sim.script(Rule(path=FIM, text="return item(self, a)", confidence=0.002))
    editor = await start_server(init_options={"minConfidence": 0})
    editor.open(PY, "def add(a, b):\n    \n")
    editor.move_to(len("def add(a, b):\n    "))
    item = await editor.ghost()
    assert item is not None and item.insert_text == "return item(self, a)"
    (request,) = sim.requests(FIM)
    assert "logprobs" not in request.json
