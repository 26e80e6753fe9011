-- Defaults for `vim.lsp.enable('deepseek')` (Neovim 0.11+ reads lsp/<name>.lua from the
-- runtimepath). `require('deepseek').setup()` builds on this; without setup() this alone gives
-- the server (completion menu on 0.11, `vim.lsp.inline_completion` on 0.12).
---@type vim.lsp.Config
return {
  cmd = { 'deepseek-lsp' },
  root_markers = { '.git' },
  settings = { deepseek = {} },
}
