"""deepseek-lsp: DeepSeek FIM completions, code actions and chat for any LSP editor."""

__version__ = "0.1.0"
