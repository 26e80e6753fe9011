"""`python -m deepseek_lsp` is `deepseek-lsp`."""

import sys

from deepseek_lsp.cli import main

sys.exit(main())
