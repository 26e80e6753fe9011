-- Without the plugin: Neovim 0.12 shows the server's inline completions natively (<Tab>
-- accepts); Neovim 0.11 gets the suggestion as a completion item (accepted with <C-y>).
-- Buffer: "def add(a, b):\n    \n".
return function(h)
  h.wait_attached()
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A')
  h.type('ret')
  if vim.lsp.inline_completion then
    h.observe('shown', h.wait('suggestion', h.ghost, 5000))
    h.feed('<Tab>', 150)
  else
    h.feed('<C-Space>')
    h.observe('menu', h.wait('completion menu', function()
      local info = vim.fn.complete_info({ 'mode', 'items', 'selected', 'pum_visible' })
      return #info.items > 0 and info
    end, 5000))
    h.feed('<C-y>', 150)
  end
  h.observe('lines', h.lines())
end
