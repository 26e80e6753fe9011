"""Chat about code: prompts, multi-round sessions, code actions and their commands."""
