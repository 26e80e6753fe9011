"""The edit-action benchmark runs (one function per file) and shows what it claims: prefix
completion bills fewer output tokens for the same edits."""

from __future__ import annotations

from benchmarks import edit_actions


async def test_prefix_completion_costs_fewer_tokens_for_the_same_edits():
    results = await edit_actions.measure(per_file=1)
    for action, modes in results.items():
        plain, prefix = modes["plain"], modes["prefix"]
        assert len(plain.tokens) >= 5, action
        assert sum(prefix.tokens) < 0.9 * sum(plain.tokens), action
        assert plain.edits == prefix.edits, action
        assert prefix.not_applied <= plain.not_applied, action
    table = edit_actions.table(results)
    assert table.count("\n") == 1 + len(edit_actions.ACTIONS)
