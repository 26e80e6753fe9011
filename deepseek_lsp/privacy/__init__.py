"""What never leaves the machine, and what is blanked out of what does.

- `exclude`: files matching the `exclude` globs are never sent, neither as the file being
  edited nor as context (completion, chat, the command line);
- `redact`: likely secrets in text that is sent are replaced by `PLACEHOLDER`.
"""

from deepseek_lsp.privacy.exclude import is_excluded
from deepseek_lsp.privacy.redact import PLACEHOLDER, redact

__all__ = ["PLACEHOLDER", "is_excluded", "redact"]
