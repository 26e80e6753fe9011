"""The completion engine's pure parts: what to send for a cursor position, and what to show.

Data flows one way: `build_fim_request` (context.py) → the API → `postprocess`
(postprocess.py). Nothing here does I/O or knows about LSP; positions are str indices.
"""

from deepseek_lsp.completion.context import FimPlan, Neighbor, Skip, build_fim_request
from deepseek_lsp.completion.postprocess import (
    PostprocessContext,
    Suggestion,
    advance_suggestion,
    postprocess,
)
from deepseek_lsp.completion.tokens import CHARS_PER_TOKEN, chars_for_tokens, count_tokens

__all__ = [
    "CHARS_PER_TOKEN",
    "FimPlan",
    "Neighbor",
    "PostprocessContext",
    "Skip",
    "Suggestion",
    "advance_suggestion",
    "build_fim_request",
    "chars_for_tokens",
    "count_tokens",
    "postprocess",
]
