"""`python -m deepseek_lsp.simulator [PORT]`: run the simulator without the CLI."""

from .runner import main

main()
