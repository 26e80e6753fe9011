"""A pygls server with no features: the baseline for `initialize` time."""

from pygls.lsp.server import LanguageServer

LanguageServer("bare", "1").start_io()
