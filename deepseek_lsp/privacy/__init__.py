"""What never leaves the machine, and what is blanked out of what does.

- `exclude`: files matching the `exclude` globs (by their shown, absolute or symlink-resolved
  path) are never sent, neither as the file being edited nor as context (completion, chat, the
  command line);
- `secrets`: what a likely secret looks like (the rules);
- `redact`: likely secrets in a window of text that is sent are replaced by `PLACEHOLDER`,
  judged in the document around the window.
"""

from deepseek_lsp.privacy.exclude import excluded_as, is_excluded, real_paths
from deepseek_lsp.privacy.redact import PLACEHOLDER, redact, redact_pieces, redact_window

__all__ = [
    "PLACEHOLDER", "excluded_as", "is_excluded", "real_paths", "redact", "redact_pieces",
    "redact_window",
]
