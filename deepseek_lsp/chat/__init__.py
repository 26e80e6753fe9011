"""Chat about code, with no LSP in it: the table of code actions, prompts, multi-round
sessions and streamed answers (plain, edits through prefix completion, JSON output), the
read-only look-up tools the model may call, Write tests' prompt and path checks, extracting an
edit from an answer, answer pages.

The LSP side (progress, cancellation, `workspace/applyEdit`, `window/showDocument`) is
`deepseek_lsp/lsp_chat.py`; the command line's is `deepseek_lsp/cli/chat.py`.
"""
