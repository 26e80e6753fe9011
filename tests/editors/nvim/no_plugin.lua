-- Without the plugin: Neovim 0.12 shows the server's inline completions natively (<Tab>
-- accepts); Neovim 0.11 gets the suggestion as a completion item (accepted with <C-y>).
-- Records how the suggestion was offered ('ghost text' or 'menu') and its text.
-- Buffer: "def add(a, b):\n    \n".
return function(h)
  h.wait_attached()
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A')
  h.type('ret')
  if vim.lsp.inline_completion then
    local shown = h.wait('suggestion', h.ghost, 5000)
    h.observe('offered', { way = 'ghost text', texts = { shown and shown.inline or vim.NIL } })
    h.feed('<Tab>', 150)
  else
    h.feed('<C-Space>')
    local menu = h.wait('completion menu', function()
      -- (One item and Neovim's default 'completeopt': inserted at once, no popup.)
      local info = vim.fn.complete_info({ 'items' })
      return #info.items > 0 and info
    end, 5000)
    local texts = {}
    for _, item in ipairs(menu and menu.items or {}) do
      table.insert(texts, item.word)
    end
    h.observe('offered', { way = 'menu', texts = texts })
    h.feed('<C-y>', 150)
  end
  h.observe('lines', h.lines())
end
